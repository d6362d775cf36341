"""The key vault, the event store's sealer and the privacy keys."""
