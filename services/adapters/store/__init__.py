"""The event store adapter (eventsourcing on SQLite or Postgres)."""
