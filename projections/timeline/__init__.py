"""The customer timeline projection: every event about a customer, across channels and departments, in order.

`reducer` (pure), `queries` (the read protocol), `memory` and `sql` (the stores; `sql` imports SQLAlchemy).
The pure reducer is re-exported here.
"""

from projections.protocol import unapplied
from projections.timeline.reducer import (
    EMPTY,
    CaseLink,
    KeyFn,
    TimelineEntry,
    TimelineOutput,
    TimelineState,
    Unattributed,
    UnattributedReason,
    fold,
    in_timeline_order,
    needed_case_ids,
    reduce,
)

__all__ = [
    "EMPTY",
    "CaseLink",
    "KeyFn",
    "TimelineEntry",
    "TimelineOutput",
    "TimelineState",
    "Unattributed",
    "UnattributedReason",
    "fold",
    "in_timeline_order",
    "needed_case_ids",
    "reduce",
    "unapplied",
]
