"""The HTTP API: ingest for departments, projection queries for operations, health for orchestrators."""
