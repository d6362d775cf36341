"""Erasure without breaking the chain: the key vault, the event store's sealer, and erasing a customer."""
