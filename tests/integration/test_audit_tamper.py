"""Tamper drills on Postgres: change a byte, delete a row, insert a forged row, swap two rows — `audit verify`
fails and names the position; an untouched log verifies. Plus the proof endpoints and who may call them."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from psycopg import sql
from typer.testing import CliRunner

from domain.audit.checkpoint import public_key_from_base64
from domain.audit.hashing import LogRow, event_hash
from domain.audit.tree import consistency_proof_valid, inclusion_proof_valid
from domain.audit.verify import Reason
from services.adapters.audit.keys import private_key_to_base64
from services.adapters.kafka.checkpoints import KafkaCheckpointSink
from services.adapters.kafka.producer import KafkaSender, make_producer
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.audit.service import AuditService, build_audit_service
from services.entrypoints.app import build_app
from services.entrypoints.cli import app as cli
from services.entrypoints.loops.chainer import build_chainer
from tests.support.builders import call_received

pytestmark = pytest.mark.integration
KEY = private_key_to_base64(Ed25519PrivateKey.generate())
TOKENS = "auditor=auditor-token-00001,admin=admin-token-0000001,ops=ops-token-000004,hotline=hotline-token-0001"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass
class History:
    settings: Settings
    store: EventStore
    audit: AuditService
    url: str
    schema: str

    def sql(self, statement: str, *params: Any) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("set search_path to {}").format(sql.Identifier(self.schema)))
            conn.execute(statement.encode(), params or None)


def ticking_clock() -> Any:
    ticks = itertools.count()
    return lambda: START + timedelta(seconds=next(ticks))


@pytest.fixture
def history(postgres_url: str, pg_schema: str, tmp_path: Path) -> Iterator[History]:
    """200 events at positions 1..100 and 102..201 (101 skipped, as a failed transaction leaves it), chained, with
    signed checkpoints every 50 events."""
    settings = Settings(env="test", database_url=postgres_url, db_schema=pg_schema, data_dir=tmp_path,
                        audit_signing_key=KEY, audit_checkpoint_events=50, projector_batch_size=50,
                        bootstrap_tokens=TOKENS)
    store = EventStore(postgres_url, schema=pg_schema)
    store.append([call_received(occurred_at=START + timedelta(seconds=i)) for i in range(100)])
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"select setval(pg_get_serial_sequence('{pg_schema}.stored_events', 'notification_id'), 101)")
    store.append([call_received(occurred_at=START + timedelta(seconds=i)) for i in range(100, 200)])
    process = build_chainer(settings, store, clock=ticking_clock(), publish=False)
    process.chainer.catch_up()
    process.close()
    audit = build_audit_service(settings, store)
    yield History(settings, store, audit, postgres_url, pg_schema)
    audit.close()
    store.close()


def test_an_untouched_log_verifies(history: History) -> None:
    verdict = history.audit.verify()
    assert verdict.ok and verdict.complete
    assert (verdict.checked, verdict.last_position, verdict.checkpoints_verified) == (200, 201, 4)


def test_changing_one_byte_of_a_stored_event_is_named(history: History) -> None:
    history.sql("update stored_events set state = overlay(state placing '\\x20'::bytea from 12 for 1) "
                "where notification_id = 37")
    finding = history.audit.verify().finding
    assert finding is not None and (finding.position, finding.reason) == (37, Reason.HASH_MISMATCH)


def test_deleting_a_row_is_named(history: History) -> None:
    history.sql("delete from stored_events where notification_id = 120")
    finding = history.audit.verify().finding
    assert finding is not None and (finding.position, finding.reason) == (120, Reason.MISSING)


def test_inserting_a_forged_row_between_recorded_ones_is_named(history: History) -> None:
    history.sql("insert into stored_events (originator_id, originator_version, topic, state, notification_id) "
                "select gen_random_uuid(), 1, topic, state, 101 from stored_events where notification_id = 5")
    finding = history.audit.verify().finding
    assert finding is not None and (finding.position, finding.reason) == (101, Reason.UNEXPECTED)


def test_swapping_two_rows_is_named(history: History) -> None:
    history.sql("""
        do $$
        declare a stored_events%rowtype; b stored_events%rowtype;
        begin
            select * into a from stored_events where notification_id = 60;
            select * into b from stored_events where notification_id = 61;
            update stored_events set originator_id = gen_random_uuid() where notification_id in (60, 61);
            update stored_events set originator_id = b.originator_id, topic = b.topic, state = b.state
                where notification_id = 60;
            update stored_events set originator_id = a.originator_id, topic = a.topic, state = a.state
                where notification_id = 61;
        end $$""")
    finding = history.audit.verify().finding
    assert finding is not None and (finding.position, finding.reason) == (60, Reason.OUT_OF_ORDER)


def test_rewriting_an_event_and_its_chain_row_is_caught_by_the_signed_checkpoint(history: History) -> None:
    history.sql("update stored_events set state = overlay(state placing '\\x20'::bytea from 12 for 1) "
                "where notification_id = 37")
    row = history.store.read_raw(36, 1)[0]
    forged = event_hash(LogRow(row.position, row.event_id, row.topic, row.state))
    history.sql("update audit_chain set event_hash = %s where position = 37", forged)
    finding = history.audit.verify().finding
    assert finding is not None and finding.reason in {Reason.CHAIN_MISMATCH, Reason.CHECKPOINT_MISMATCH}
    assert finding.position == 37


def test_cli_verify_exits_0_when_intact_and_1_naming_the_position(history: History) -> None:
    env = {"TOUCHLINE_ENV": "test", "DATABASE_URL": history.url, "TOUCHLINE_DB_SCHEMA": history.schema,
           "TOUCHLINE_DATA_DIR": str(history.settings.data_dir), "TOUCHLINE_AUDIT_SIGNING_KEY": KEY}
    intact = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert intact.exit_code == 0, intact.output
    history.sql("delete from stored_events where notification_id = 150")
    tampered = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert tampered.exit_code == 1 and "position 150: missing" in tampered.output
    proof = CliRunner().invoke(cli, ["audit", "consistency", "1", "4"], env=env)
    assert proof.exit_code == 0 and orjson.loads(proof.stdout)["proof"]["type"] == "consistency"


def test_api_proofs_verify_with_the_public_key_and_only_auditors_may_ask(history: History) -> None:
    client = TestClient(build_app(_Components(history.settings, history.audit)))
    auditor = {"Authorization": "Bearer auditor-token-00001"}
    event_id = history.store.read_raw(41, 1)[0].event_id
    key = client.get("/v1/audit/public-key").json()
    body = client.get("/v1/audit/proofs/inclusion", params={"event_id": str(event_id), "checkpoint": 2},
                      headers=auditor).json()
    record, cp = body["record"], body["checkpoint"]
    leaf = event_hash(LogRow(record["position"], event_id, record["topic"], record["state"].encode()))
    assert inclusion_proof_valid(body["proof"], leaf, bytes.fromhex(cp["root_hash"]), body["leaf_index"],
                                 cp["tree_size"])
    public = public_key_from_base64(key["public_key"])
    public.verify(base64.b64decode(cp["signature"]), cp["statement"].encode())  # raises if forged
    both = client.get("/v1/audit/proofs/consistency", params={"from": 1, "to": 3}, headers=auditor).json()
    assert consistency_proof_valid(both["proof"], bytes.fromhex(both["from"]["root_hash"]),
                                   bytes.fromhex(both["to"]["root_hash"]), 50, 150)
    admin = {"Authorization": "Bearer admin-token-0000001"}
    assert client.get("/v1/audit/verify", headers=admin).json()["ok"] is True
    for token in ("ops-token-000004", "hotline-token-0001"):
        denied = client.get("/v1/audit/checkpoints", headers={"Authorization": f"Bearer {token}"})
        assert denied.status_code == 403


def test_checkpoints_are_published_signed_to_the_audit_topic(history: History, kafka_bootstrap: str,
                                                             kafka_topic: str) -> None:
    from services.adapters.audit.keys import signing_key
    from services.adapters.audit.tables import open_audit_engine
    from services.application.audit.chain import Chainer

    engine = open_audit_engine(history.settings)
    sender = KafkaSender(make_producer(kafka_bootstrap), kafka_topic)
    try:
        chainer = Chainer(history.store, engine, signing_key(history.settings), ticking_clock(),
                          sink=KafkaCheckpointSink(sender))
        assert chainer.publish_pending() == 4 and chainer.publish_pending() == 0
    finally:
        sender.close()
        engine.dispose()
    consumer = KafkaConsumer(kafka_topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=10_000)
    try:
        values = [orjson.loads(record.value) for record in itertools.islice(consumer, 4)]
    finally:
        consumer.close()
    assert sorted(v["seq"] for v in values) == [1, 2, 3, 4]
    public = public_key_from_base64(history.audit.public_key()["public_key"])
    for value in values:
        public.verify(base64.b64decode(value["signature"]), value["statement"].encode())


@dataclass
class _Components:
    settings: Settings
    audit: AuditService
