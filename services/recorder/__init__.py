"""The recorder: Kafka consumer group → validated, deduplicated events in the event store."""
