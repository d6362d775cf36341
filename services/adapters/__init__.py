"""Adapters: Kafka, the event store, the key vault, database engines, webhooks, migrations and settings."""
