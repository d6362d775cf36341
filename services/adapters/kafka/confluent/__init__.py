"""The same Kafka ports over confluent-kafka (librdkafka): sender, record source and topic administration."""
