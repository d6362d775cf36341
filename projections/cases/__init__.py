"""The cases projection: who holds each case, how it travelled, where it waits, repeat contacts and anomalies.

`reducer` (pure), `queries` (the read protocol), `memory` and `sql` (the stores; `sql` imports SQLAlchemy); the
pure parts (reducer, rows, queries) are re-exported here; the views as of `now` are in `projections.cases.views`
and `projections.cases.stats`.
"""

from projections.cases.queries import NAME, CasePage, CaseQuery, ContactQuery, HandoffQuery
from projections.cases.reducer import KeyFn, Needs, fold, needs
from projections.cases.rows import AnomalyRow, CaseRow, CaseRows, ContactRow, HandoffRow, rows_of
from projections.cursor import InvalidCursor

__all__ = [
    "NAME",
    "AnomalyRow",
    "CasePage",
    "CaseQuery",
    "CaseRow",
    "CaseRows",
    "ContactQuery",
    "ContactRow",
    "HandoffQuery",
    "HandoffRow",
    "InvalidCursor",
    "KeyFn",
    "Needs",
    "fold",
    "needs",
    "rows_of",
]
