"""The customer timeline projection: every event about a customer, across channels and departments, in order.

The pure reducer is re-exported here; the stores live in `projections.timeline.store` (it imports SQLAlchemy).
"""

from projections.protocol import unapplied
from projections.timeline.reducer import (
    EMPTY,
    CaseLink,
    IdentifierSighting,
    KeyFn,
    TimelineEntry,
    TimelineOutput,
    TimelineState,
    Unattributed,
    UnattributedReason,
    epoch_us,
    fold,
    in_timeline_order,
    needed_case_ids,
    reduce,
)

__all__ = [
    "EMPTY",
    "CaseLink",
    "IdentifierSighting",
    "KeyFn",
    "TimelineEntry",
    "TimelineOutput",
    "TimelineState",
    "Unattributed",
    "UnattributedReason",
    "epoch_us",
    "fold",
    "in_timeline_order",
    "needed_case_ids",
    "reduce",
    "unapplied",
]
