"""The audit tables and signing keys, in the event store's database."""
