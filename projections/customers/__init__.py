"""The customers projection: identity resolution (which anchors are one customer) and per-anchor facts.

`reducer` (pure), `queries` (the read protocol), `memory` and `sql` (the stores; `sql` imports SQLAlchemy); `card`
assembles the context card. The pure reducer is re-exported here.
"""

from projections.customers.queries import NAME
from projections.customers.reducer import AnchorFacts, apply_event, fold, sightings_of

__all__ = ["NAME", "AnchorFacts", "apply_event", "fold", "sightings_of"]
