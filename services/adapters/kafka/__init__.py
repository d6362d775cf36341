"""Kafka transport: the publisher, the record source and topic administration, on kafka-python or confluent-kafka."""
