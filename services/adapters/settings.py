"""Configuration: every setting the processes read, from the environment or given explicitly."""

from __future__ import annotations

import base64
import hashlib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ID_HASH_KEY = "development-only-id-hash-key"
DEV_PRIVACY_KEK_TEXT = b"touchline development privacy key-encryption key (public, not a secret)"
KafkaClient = Literal["kafka-python", "confluent"]
PLACEHOLDER_SECRETS = ("change-me", "changeme", "secret", "dev-", "development-only")


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """touchline settings. Unprefixed names (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, PORT) follow common practice."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    env: Literal["development", "test", "production"] = Field("development", validation_alias=_alias("TOUCHLINE_ENV"))
    data_dir: Path = Field(Path(".touchline"), validation_alias=_alias("TOUCHLINE_DATA_DIR"))
    database_url: str = Field("", validation_alias=_alias("DATABASE_URL"))
    views_database_url: str = Field("", validation_alias=_alias("TOUCHLINE_VIEWS_DATABASE_URL"))
    db_schema: str = Field("", pattern=r"^([a-z_][a-z0-9_]{0,62})?$", validation_alias=_alias("TOUCHLINE_DB_SCHEMA"))
    kafka_bootstrap_servers: str = Field("", validation_alias=_alias("KAFKA_BOOTSTRAP_SERVERS"))
    # The Kafka client library behind every producer, consumer and admin client (services.adapters.kafka.backend):
    # kafka-python (pure Python, the default) or confluent (confluent-kafka over librdkafka, several times faster).
    kafka_client: KafkaClient = Field("kafka-python", validation_alias=_alias("TOUCHLINE_KAFKA_CLIENT"))
    events_topic: str = Field("touchline.events.v1", validation_alias=_alias("TOUCHLINE_EVENTS_TOPIC"))
    dlq_topic: str = Field("touchline.events.dlq.v1", validation_alias=_alias("TOUCHLINE_DLQ_TOPIC"))
    events_topic_partitions: int = Field(6, ge=1, validation_alias=_alias("TOUCHLINE_EVENTS_TOPIC_PARTITIONS"))
    recorder_group: str = Field("touchline-recorder", validation_alias=_alias("TOUCHLINE_RECORDER_GROUP"))
    kafka_session_timeout_ms: int = Field(
        10_000, ge=1000, validation_alias=_alias("TOUCHLINE_KAFKA_SESSION_TIMEOUT_MS")
    )
    recorder_max_poll_records: int = Field(2000, ge=1, validation_alias=_alias("TOUCHLINE_RECORDER_MAX_POLL_RECORDS"))
    projector_batch_size: int = Field(2000, ge=1, validation_alias=_alias("TOUCHLINE_PROJECTOR_BATCH_SIZE"))
    # The most a projector's read grows to while it is behind the log (doubling from the batch size above).
    projector_max_batch_size: int = Field(10_000, ge=1, validation_alias=_alias("TOUCHLINE_PROJECTOR_MAX_BATCH_SIZE"))
    projector_idle_seconds: float = Field(0.05, gt=0, validation_alias=_alias("TOUCHLINE_PROJECTOR_IDLE_SECONDS"))
    # The projections this projector process keeps up to date, comma-separated (default: all). Projections are
    # applied independently, so several projector processes with disjoint sets share the work over CPUs.
    projections: str = Field("", validation_alias=_alias("TOUCHLINE_PROJECTIONS"))
    migrate_on_start: bool | None = Field(None, validation_alias=_alias("TOUCHLINE_MIGRATE_ON_START"))
    projector_stuck_seconds: float = Field(120.0, gt=0,
                                           validation_alias=_alias("TOUCHLINE_PROJECTOR_STUCK_SECONDS"))
    quality_warm: bool = Field(True, validation_alias=_alias("TOUCHLINE_QUALITY_WARM"))
    bootstrap_tokens: SecretStr = Field(SecretStr(""), validation_alias=_alias("TOUCHLINE_BOOTSTRAP_TOKENS"))
    id_hash_key: SecretStr = Field(SecretStr(DEV_ID_HASH_KEY), validation_alias=_alias("TOUCHLINE_ID_HASH_KEY"))
    host: str = Field("127.0.0.1", validation_alias=_alias("TOUCHLINE_HOST"))
    port: int = Field(8000, ge=0, le=65535, validation_alias=_alias("PORT"))
    max_batch: int = Field(1000, ge=1, validation_alias=_alias("TOUCHLINE_MAX_BATCH"))
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, validation_alias=_alias("TOUCHLINE_MAX_BODY_BYTES"))
    # Per-token request limit, in the `limits` notation ("100/second", "6000/minute"); beyond it 429 + Retry-After.
    rate_limit: str = Field("100/second", validation_alias=_alias("TOUCHLINE_RATE_LIMIT"))
    publish_timeout_s: float = Field(30.0, gt=0, validation_alias=_alias("TOUCHLINE_PUBLISH_TIMEOUT_S"))
    # Business hours a department has to accept a handoff, until SLA policies name a handoff-acceptance target.
    handoff_target_hours: float = Field(4.0, ge=0, validation_alias=_alias("TOUCHLINE_HANDOFF_TARGET_HOURS"))
    # SLA: config directory (calendars/, departments.toml, sla/policy.toml; default: the repository's config/),
    # ticker period, alerts topic, and webhook retries.
    config_dir: Path | None = Field(None, validation_alias=_alias("TOUCHLINE_CONFIG_DIR"))
    sla_tick_seconds: float = Field(1.0, gt=0, le=5, validation_alias=_alias("TOUCHLINE_SLA_TICK_SECONDS"))
    # Allowed lateness (docs/sla.md): an alert waits until its threshold instant and the clock's latest fact
    # are this many seconds old, so that late facts (a past case's resolution posted after its opening) count.
    sla_allowed_lateness_s: float = Field(60.0, ge=0, le=3600,
                                          validation_alias=_alias("TOUCHLINE_SLA_ALLOWED_LATENESS_S"))
    alerts_topic: str = Field("touchline.alerts.v1", validation_alias=_alias("TOUCHLINE_ALERTS_TOPIC"))
    webhook_max_attempts: int = Field(8, ge=1, validation_alias=_alias("TOUCHLINE_WEBHOOK_MAX_ATTEMPTS"))
    webhook_backoff_seconds: float = Field(2.0, gt=0, validation_alias=_alias("TOUCHLINE_WEBHOOK_BACKOFF_SECONDS"))
    webhook_timeout_seconds: float = Field(5.0, gt=0, validation_alias=_alias("TOUCHLINE_WEBHOOK_TIMEOUT_SECONDS"))
    # Tamper-evident history (docs/audit.md): checkpoints every N chained events or T seconds, signed with an
    # Ed25519 key (base64 raw 32 bytes; generated under data_dir outside production when unset).
    audit_topic: str = Field("touchline.audit.checkpoints.v1", validation_alias=_alias("TOUCHLINE_AUDIT_TOPIC"))
    audit_signing_key: SecretStr = Field(SecretStr(""), validation_alias=_alias("TOUCHLINE_AUDIT_SIGNING_KEY"))
    audit_trusted_public_keys: str = Field("", validation_alias=_alias("TOUCHLINE_AUDIT_TRUSTED_PUBLIC_KEYS"))
    audit_checkpoint_events: int = Field(1000, ge=1, validation_alias=_alias("TOUCHLINE_AUDIT_CHECKPOINT_EVENTS"))
    audit_checkpoint_seconds: float = Field(60.0, gt=0, validation_alias=_alias("TOUCHLINE_AUDIT_CHECKPOINT_SECONDS"))
    # Supervised loops (services.adapters.supervision): backoff doubling from loop_backoff_seconds up to the cap; a loop
    # failing loop_max_failures times in a row is dead (readiness 503; `touchline run` exits non-zero).
    loop_backoff_seconds: float = Field(0.5, gt=0, validation_alias=_alias("TOUCHLINE_LOOP_BACKOFF_SECONDS"))
    loop_backoff_max_seconds: float = Field(30.0, gt=0, validation_alias=_alias("TOUCHLINE_LOOP_BACKOFF_MAX_SECONDS"))
    loop_max_failures: int = Field(10, ge=1, validation_alias=_alias("TOUCHLINE_LOOP_MAX_FAILURES"))
    # Observability: log format (json or text; default json in production, text elsewhere), and the port on which
    # the recorder, projector, ticker and chainer processes serve /metrics, /healthz and /readyz (0: none).
    log_format: Literal["json", "text", ""] = Field("", validation_alias=_alias("TOUCHLINE_LOG_FORMAT"))
    log_level: str = Field("INFO", validation_alias=_alias("TOUCHLINE_LOG_LEVEL"))
    metrics_port: int = Field(9100, ge=0, le=65535, validation_alias=_alias("TOUCHLINE_METRICS_PORT"))
    # Erasure (docs/audit.md): the key-encryption key wrapping every customer's data key, base64 of 32 bytes.
    # Required in production; elsewhere, when unset, a fixed development key (not a secret) is used.
    privacy_kek: SecretStr = Field(SecretStr(""), validation_alias=_alias("TOUCHLINE_PRIVACY_KEK"))

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from limits import parse  # kept local: only this validator and the API need the library

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError('must look like "100/second" or "6000/minute"') from exc
        return value

    @field_validator("projections")
    @classmethod
    def _known_projections(cls, value: str) -> str:
        from projections.registry import NAMES  # kept local: the registry imports every store

        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in NAMES]
        if unknown:
            raise ValueError(f"unknown projection {', '.join(unknown)}; known: {', '.join(NAMES)}")
        return ",".join(name for name in NAMES if name in names)

    @property
    def projection_names(self) -> tuple[str, ...] | None:
        """The projections a projector process runs (TOUCHLINE_PROJECTIONS, in registry order); None for all."""
        return tuple(self.projections.split(",")) if self.projections else None

    @field_validator("database_url", "views_database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:///PATH or postgresql://USER@HOST:PORT/DB URL")
        return value

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> Settings:
        if not _raw_ed25519_key(self.audit_signing_key.get_secret_value()):
            raise ValueError("TOUCHLINE_AUDIT_SIGNING_KEY must be base64 of a raw 32-byte Ed25519 private key")
        if not _raw_ed25519_key(self.privacy_kek.get_secret_value()):  # same shape: base64 of 32 bytes
            raise ValueError("TOUCHLINE_PRIVACY_KEK must be base64 of 32 random bytes")
        if self.env != "production":
            return self
        secrets = {"TOUCHLINE_ID_HASH_KEY": self.id_hash_key.get_secret_value()}
        secrets |= {f"token {name}": token for name, token in parse_tokens(self.bootstrap_tokens).items()}
        for name, value in secrets.items():
            if len(value) < 16 or value.lower().startswith(PLACEHOLDER_SECRETS):
                raise ValueError(f"{name}: a placeholder or short secret is refused in production")
        if not self.audit_signing_key.get_secret_value():
            raise ValueError("TOUCHLINE_AUDIT_SIGNING_KEY is required in production")
        if not self.kafka_bootstrap_servers:
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS is required in production")
        if not self.database_url.startswith(("postgresql", "postgres")):
            raise ValueError("DATABASE_URL must name Postgres in production")
        if _placeholder_kek(self.privacy_kek.get_secret_value()):
            raise ValueError("TOUCHLINE_PRIVACY_KEK is required in production (base64 of 32 random bytes)")
        return self

    @property
    def migrate_at_start(self) -> bool:
        """Whether processes migrate the schema at start (default: outside production; in production they check
        it is at head and `touchline migrate` runs first, e.g. as a Kubernetes Job)."""
        return self.migrate_on_start if self.migrate_on_start is not None else self.env != "production"

    @cached_property
    def store_url(self) -> str:
        """Event store database (SQLite file under data_dir by default)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'events.db'}"

    @cached_property
    def views_url(self) -> str:
        """Read-model database: same Postgres by default; for SQLite a sibling file."""
        if self.views_database_url:
            return self.views_database_url
        if self.store_url.startswith("sqlite:///"):
            return f"sqlite:///{Path(self.store_url.removeprefix('sqlite:///')).parent / 'views.db'}"
        return self.store_url


def _raw_ed25519_key(text: str) -> bool:
    """Unset, or base64 of 32 bytes (the value itself never appears in an error)."""
    try:
        return not text or len(base64.b64decode(text, validate=True)) == 32
    except ValueError:
        return False


def development_privacy_kek() -> bytes:
    """The fixed key-encryption key of the embedded and test modes: derived from a public text, so NOT a secret."""
    return hashlib.sha256(DEV_PRIVACY_KEK_TEXT).digest()


def _placeholder_kek(text: str) -> bool:
    """Unset, the development key, or 32 bytes that are all the same (zeros, say)."""
    if not text:
        return True
    raw = base64.b64decode(text, validate=True)
    return raw == development_privacy_kek() or len(set(raw)) == 1


def parse_tokens(raw: SecretStr | str) -> dict[str, str]:
    """`name=token,name=token` → {name: token}. Names are departments or roles (ops, auditor, admin)."""
    text = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
    tokens: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, token = item.partition("=")
        if not sep or not name.strip() or not token.strip():
            raise ValueError("TOUCHLINE_BOOTSTRAP_TOKENS items must look like name=token")
        tokens[name.strip()] = token.strip()
    return tokens
