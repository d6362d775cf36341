"""The contacts projection: the facts behind first-contact resolution, proactive contact, failure-prone touchpoints
and staff assessment. Pure parts in `reducer` and `queries`; stores in `memory` and `sql` (it imports SQLAlchemy).
"""

from projections.contacts.queries import NAME, ContactFactsReader, ContactsStore, QualitySettings, QualityViews
from projections.contacts.reducer import fact_row, fold, row_fact

__all__ = ["NAME", "ContactFactsReader", "ContactsStore", "QualitySettings", "QualityViews", "fact_row", "fold",
           "row_fact"]
