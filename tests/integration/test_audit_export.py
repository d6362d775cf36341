"""Customer exports on SQLite and Postgres: a store with several customers and signed checkpoints; the export of one
holds exactly that customer's events and verifies with the public key alone; a changed byte, a dropped line or a
wrong key is named; uncovered events and a tampered store are refused; API (auditors only) and CLI."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from contracts import Envelope, to_canonical_json
from domain.audit.checkpoint import public_key_from_base64, trusted_keys
from domain.audit.export import ExportReason, verify_export
from domain.identity.identifiers import IdentifierKind, customer_id_for, normalise
from projections.timeline.sql import SqlTimelineStore
from services.adapters.audit.keys import private_key_to_base64
from services.adapters.audit.tables import open_audit_engine
from services.adapters.databases import open_views
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.application.audit.export import CustomerExporter, customer_exporter, timeline_positions
from services.application.audit.service import AuditService, Inconsistent, NotCovered, NotFound, build_audit_service
from services.entrypoints.app import build_app
from services.entrypoints.cli import app as cli
from services.entrypoints.loops.chainer import build_chainer
from tests.support.builders import call_received, case_note_added, case_opened, visit_checked_in, web_request

pytestmark = pytest.mark.integration
KEY = private_key_to_base64(Ed25519PrivateKey.generate())
TOKENS = "auditor=auditor-token-00001,admin=admin-token-0000001,ops=ops-token-000004,hotline=hotline-token-0001"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GENERATED = datetime(2026, 11, 3, 10, 30, tzinfo=UTC)
ALICE, BOB, CAROL = {"phone": "+86 138 0013 8000"}, {"email": "bob@example.com"}, {"phone": "+86 139 0000 0001"}
ALICE_ID = customer_id_for(normalise(IdentifierKind.PHONE, ALICE["phone"]))
BOB_ID = customer_id_for(normalise(IdentifierKind.EMAIL, BOB["email"]))


def story() -> tuple[list[Envelope], list[UUID]]:
    """Alice, Bob and Carol interleaved, visitors nobody knows, and Alice's case notes that carry no identifiers;
    returns the events and Alice's event ids in log order."""
    events: list[Envelope] = []
    alice: list[UUID] = []

    def add(event: Envelope, hers: bool = False) -> None:
        events.append(event)
        if hers:
            alice.append(event.event_id)

    for i in range(12):
        at = START + timedelta(minutes=i)
        add(call_received(occurred_at=at, customer=ALICE if i % 3 else CAROL), hers=i % 3 != 0)
        add(web_request(occurred_at=at, customer=BOB))
        if i == 4:
            add(case_opened(occurred_at=at, customer=ALICE, case_id="CASE-A"), hers=True)
        if i % 4 == 1:
            add(visit_checked_in(occurred_at=at))
        if i in (6, 9):
            add(case_note_added(occurred_at=at, case_id="CASE-A"), hers=True)
    return events, alice


@dataclass
class Store:
    settings: Settings
    store: EventStore
    views: Engine
    timeline: SqlTimelineStore
    audit: AuditService
    alice: list[UUID]

    def exporter(self, **paging: int) -> CustomerExporter:
        return CustomerExporter(self.audit, self.store, timeline_positions(self.timeline), lambda: GENERATED,
                                **paging)

    def audit_keys(self) -> dict[str, Ed25519PublicKey]:
        """The key a regulator would hold: the published public key, nothing read from the file."""
        return trusted_keys(public_key_from_base64(self.audit.public_key()["public_key"]))

    def export(self, customer_id: str = ALICE_ID) -> list[bytes]:
        return list(customer_exporter(self.audit, self.store, self.timeline, lambda: GENERATED).export(customer_id))

    def record(self, events: list[Envelope]) -> None:
        self.store.append(events)
        self.timeline.apply(self.store.read(self.timeline.position(), 1000))

    def chain(self, *, checkpoint: bool = True) -> None:
        ticks = itertools.count()
        process = build_chainer(self.settings, self.store, clock=lambda: START + timedelta(seconds=next(ticks)),
                                publish=False)
        try:
            process.chainer.catch_up()
            if checkpoint:
                process.chainer.checkpoint_if_due(force=True)
        finally:
            process.close()

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run `statement` in the event store's database and schema; `{position}` names the log position column."""
        column = "rowid" if self.settings.store_url.startswith("sqlite") else "notification_id"
        engine = open_audit_engine(self.settings)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement.format(position=column)), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def recorded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The story recorded, projected into the timeline, chained with checkpoints every 10 events and a last one."""
    common: dict[str, Any] = {"env": "test", "data_dir": tmp_path, "audit_signing_key": KEY,
                              "audit_checkpoint_events": 10, "projector_batch_size": 50, "bootstrap_tokens": TOKENS}
    if request.param == "sqlite":
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'events.db'}", **common)
    else:
        settings = Settings(database_url=request.getfixturevalue("postgres_url"),
                            db_schema=request.getfixturevalue("pg_schema"), **common)
    store, views = open_event_store(settings), open_views(settings)
    timeline = SqlTimelineStore(views)
    timeline.create()
    audit = build_audit_service(settings, store)
    events, alice = story()
    recorded = Store(settings, store, views, timeline, audit, alice)
    recorded.record(events)
    recorded.chain()
    yield recorded
    audit.close()
    views.dispose()
    store.close()


def test_the_export_holds_exactly_the_customers_events_and_verifies(recorded: Store) -> None:
    lines = recorded.export()
    objects = [orjson.loads(line) for line in lines]
    events = [o for o in objects if o["kind"] == "event"]
    assert [UUID(e["event_id"]) for e in events] == recorded.alice
    assert [e["position"] for e in events] == recorded.timeline.positions_of([ALICE_ID])
    assert all(e["event"]["event_id"] == e["event_id"] for e in events)
    head, tail = objects[0], objects[-1]
    latest = recorded.audit.checkpoint().statement
    assert (head["kind"], head["customer_id"], head["generated_at"]) == ("header", ALICE_ID,
                                                                        "2026-11-03T10:30:00.000000Z")
    assert (head["checkpoint"]["seq"], head["checkpoint"]["last_position"]) == (latest.seq, latest.last_position)
    assert (tail["kind"], tail["events"]) == ("trailer", len(recorded.alice))
    verdict = verify_export(lines, recorded.audit_keys())
    assert verdict.ok, verdict.finding
    assert (verdict.events, verdict.customer_id, verdict.checkpoint) == (len(recorded.alice), ALICE_ID, latest.seq)
    assert list(recorded.exporter(page=2, window=3).export(ALICE_ID)) == lines  # paging changes nothing


def test_readable_holds_the_customers_own_values_that_event_holds_sealed(recorded: Store) -> None:
    lines = recorded.export()
    events = [orjson.loads(line) for line in lines[1:-1]]
    opened = {e.event.event_id: e.event for e in recorded.store.read(0, 1000)}
    for line in events:  # the event as touchline reads it, as its canonical wire JSON
        assert line["readable"] == orjson.loads(to_canonical_json(opened[UUID(line["event_id"])]))
    phone = ALICE["phone"]  # as sent
    named = [line for line in events if line["readable"].get("customer")]  # case notes name no one
    assert named and all(line["readable"]["customer"] == ALICE for line in named)
    assert all(line["event"]["customer"]["phone"].startswith("sealed:v1:") for line in named)  # sealing is on
    assert phone not in b"".join(orjson.dumps(line["event"]) for line in events).decode()
    assert all(phone in orjson.dumps(line["readable"]).decode() for line in named)
    verdict = verify_export(lines, recorded.audit_keys())
    assert verdict.ok and verdict.events == len(recorded.alice), verdict.finding


def test_a_changed_byte_a_dropped_line_or_a_wrong_key_fail_naming_the_line(recorded: Store) -> None:
    lines = recorded.export()
    keys = recorded.audit_keys()
    changed = list(lines)
    changed[3] = changed[3].replace(b'"direction":"inbound"', b'"direction":"outbound"', 1)
    assert changed[3] != lines[3]
    finding = verify_export(changed, keys).finding
    assert finding is not None and (finding.line, finding.reason) == (4, ExportReason.HASH_MISMATCH)
    finding = verify_export(lines[:5] + lines[6:], keys).finding
    assert finding is not None and (finding.line, finding.reason) == (6, ExportReason.OUT_OF_SEQUENCE)
    finding = verify_export(lines[:-1], keys).finding
    assert finding is not None and (finding.line, finding.reason) == (len(lines), ExportReason.TRUNCATED)
    finding = verify_export(lines, trusted_keys(Ed25519PrivateKey.generate().public_key())).finding
    assert finding is not None and (finding.line, finding.reason) == (1, ExportReason.BAD_SIGNATURE)


def test_events_newer_than_the_latest_checkpoint_are_refused_until_the_next(recorded: Store) -> None:
    late = call_received(occurred_at=START + timedelta(hours=1), customer=ALICE)
    recorded.record([late])
    with pytest.raises(NotCovered, match="not covered by a signed checkpoint yet"):
        recorded.export()
    recorded.chain()
    lines = recorded.export()
    assert UUID(orjson.loads(lines[-2])["event_id"]) == late.event_id
    assert verify_export(lines, recorded.audit_keys()).ok


def test_an_unknown_customer_is_not_found(recorded: Store) -> None:
    with pytest.raises(NotFound):
        recorded.export("no-such-customer")


def test_a_tampered_store_refuses_to_export_rather_than_write_an_unverifiable_file(recorded: Store) -> None:
    position = recorded.timeline.positions_of([ALICE_ID])[2]
    state = bytes(recorded.sql("select state from stored_events where {position} = :p", p=position)[0][0])
    recorded.sql("update stored_events set state = :s where {position} = :p", s=state.replace(b"inbound", b"outbond"),
                 p=position)
    with pytest.raises(Inconsistent, match=f"position {position} differs from what was chained"):
        recorded.export()
    recorded.sql("update stored_events set state = :s where {position} = :p", s=state, p=position)
    recorded.sql("update audit_chain set event_hash = :h where position = 2", h=bytes(32))
    with pytest.raises(Inconsistent, match="no longer matches signed checkpoint"):
        recorded.export(BOB_ID)


def test_the_api_streams_ndjson_to_auditors_and_admins_only(recorded: Store) -> None:
    exporter = customer_exporter(recorded.audit, recorded.store, recorded.timeline, lambda: GENERATED)
    client = TestClient(build_app(_Components(recorded.settings, recorded.audit, exporter)))
    path = f"/v1/audit/customers/{ALICE_ID}/export"
    response = client.get(path, headers=_bearer("auditor-token-00001"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.content.splitlines(keepends=True)
    assert lines == recorded.export()
    assert verify_export(lines, recorded.audit_keys()).events == len(recorded.alice)
    assert client.get(path, headers=_bearer("admin-token-0000001")).status_code == 200
    for token in ("ops-token-000004", "hotline-token-0001"):
        assert client.get(path, headers=_bearer(token)).status_code == 403
    assert client.get(path).status_code == 401
    missing = client.get("/v1/audit/customers/no-such-customer/export", headers=_bearer("auditor-token-00001"))
    assert missing.status_code == 404 and "no events" in missing.json()["detail"]
    recorded.record([call_received(occurred_at=START + timedelta(hours=1), customer=ALICE)])
    assert client.get(path, headers=_bearer("auditor-token-00001")).status_code == 409


def test_the_cli_exports_a_file_that_verify_export_accepts_and_names_a_bad_line(recorded: Store,
                                                                                 tmp_path: Path) -> None:
    settings = recorded.settings
    env = {"TOUCHLINE_ENV": "test", "DATABASE_URL": settings.store_url, "TOUCHLINE_DB_SCHEMA": settings.db_schema,
           "TOUCHLINE_DATA_DIR": str(settings.data_dir), "TOUCHLINE_AUDIT_SIGNING_KEY": KEY,
           "TOUCHLINE_VIEWS_DATABASE_URL": ""}
    file = tmp_path / "alice.jsonl"
    exported = CliRunner().invoke(cli, ["audit", "export", ALICE_ID, "-o", str(file)], env=env)
    assert exported.exit_code == 0, exported.output
    assert f"exported {len(recorded.alice)} events" in exported.output
    assert len(file.read_bytes().splitlines()) == len(recorded.alice) + 2
    public = recorded.audit.public_key()["public_key"]
    verified = CliRunner().invoke(cli, ["audit", "verify-export", str(file), "--public-key", public], env=env)
    assert verified.exit_code == 0 and f"verified: {len(recorded.alice)} events" in verified.output
    assert CliRunner().invoke(cli, ["audit", "verify-export", str(file)], env=env).exit_code == 0  # installation keys
    to_stdout = CliRunner().invoke(cli, ["audit", "export", ALICE_ID], env=env)
    assert to_stdout.exit_code == 0  # the same events on standard output (generated_at, hence the digest, differ)
    assert to_stdout.stdout_bytes.splitlines()[1:-1] == file.read_bytes().splitlines()[1:-1]
    lines = file.read_bytes().splitlines(keepends=True)
    file.write_bytes(b"".join(lines[:2] + lines[3:]))
    dropped = CliRunner().invoke(cli, ["audit", "verify-export", str(file), "--public-key", public], env=env)
    assert dropped.exit_code == 1 and "BAD at line 3: out of sequence" in dropped.output
    unknown = CliRunner().invoke(cli, ["audit", "export", "no-such-customer", "-o", str(tmp_path / "x.jsonl")],
                                 env=env)
    assert unknown.exit_code == 1 and not (tmp_path / "x.jsonl").exists()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class _Components:
    settings: Settings
    audit: AuditService
    exporter: CustomerExporter
