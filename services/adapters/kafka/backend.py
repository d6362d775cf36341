"""The Kafka client library behind the ports, chosen by TOUCHLINE_KAFKA_CLIENT (Settings.kafka_client): kafka-python,
the default, or confluent (confluent-kafka over librdkafka). Every producer, consumer and admin client the processes
use is made here; both libraries get the same guarantees (acks=all, idempotence, no auto-commit, positions from the
event store), and neither is given settings for one particular broker."""

from __future__ import annotations

from services.adapters.kafka.records import RecordSender, RecordSource, TrackedOffset
from services.adapters.settings import KafkaClient, Settings


def sender(client: KafkaClient, bootstrap_servers: str, topic: str, timeout_s: float = 30.0, *,
           connect_now: bool = False) -> RecordSender:
    """A sender onto `topic`. By default it creates its producer on first use and again after `reset` (a
    supervised loop's or the API's); `connect_now` creates it here, so an unreachable broker fails the caller."""
    if client == "confluent":
        from services.adapters.kafka.confluent.producer import ConfluentSender

        return (ConfluentSender.opened if connect_now else ConfluentSender.connecting)(
            bootstrap_servers, topic, timeout_s)
    from services.adapters.kafka.producer import KafkaSender

    return (KafkaSender.opened if connect_now else KafkaSender.connecting)(bootstrap_servers, topic, timeout_s)


def recorder_source(settings: Settings, tracked: TrackedOffset) -> RecordSource:
    """The recorder's consumer of the events topic, in its consumer group, positioned by `tracked` on assignment."""
    if settings.kafka_client == "confluent":
        from services.adapters.kafka.confluent.consumer import ConfluentRecordSource

        return ConfluentRecordSource(settings.kafka_bootstrap_servers, settings.events_topic, settings.recorder_group,
                                     tracked, session_timeout_ms=settings.kafka_session_timeout_ms,
                                     max_poll_records=settings.recorder_max_poll_records)
    from services.adapters.kafka.consumer import KafkaRecordSource

    return KafkaRecordSource(settings.kafka_bootstrap_servers, settings.events_topic, settings.recorder_group,
                             tracked, session_timeout_ms=settings.kafka_session_timeout_ms,
                             max_poll_records=settings.recorder_max_poll_records)


def broker_reachable(client: KafkaClient, bootstrap_servers: str, timeout_s: float = 3.0) -> bool:
    """True when a broker answers a metadata request within the timeout."""
    if client == "confluent":
        from services.adapters.kafka.confluent import admin as confluent_admin

        return confluent_admin.broker_reachable(bootstrap_servers, timeout_s)
    from services.adapters.kafka import admin

    return admin.broker_reachable(bootstrap_servers, timeout_s)


def ensure_kafka_topics(settings: Settings) -> None:
    """Create missing topics outside production; in production they must have been created by operations
    (replication, retention), so a missing topic is an error rather than a silently under-replicated topic."""
    wanted = {settings.events_topic: settings.events_topic_partitions, settings.dlq_topic: 1,
              settings.alerts_topic: 1, settings.audit_topic: 1}
    if settings.kafka_client == "confluent":
        from services.adapters.kafka.confluent.admin import ensure_topics, existing_topics
    else:
        from services.adapters.kafka.admin import ensure_topics, existing_topics
    if settings.env != "production":
        ensure_topics(settings.kafka_bootstrap_servers, wanted)
        return
    missing = sorted(set(wanted) - existing_topics(settings.kafka_bootstrap_servers))
    if missing:
        raise RuntimeError(f"topics missing: {', '.join(missing)} (create them first, see docs/operations.md)")
