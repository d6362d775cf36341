"""Kafka transport: the publisher, the record source and topic administration (kafka-python)."""
