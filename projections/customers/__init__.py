"""The customers projection: identity resolution (which anchors are one customer) and per-anchor facts.

The pure reducer is re-exported here; the stores live in `projections.customers.store` (it imports SQLAlchemy).
"""

from projections.customers.reducer import NAME, AnchorFacts, apply_event, fold, sightings_of

__all__ = ["NAME", "AnchorFacts", "apply_event", "fold", "sightings_of"]
