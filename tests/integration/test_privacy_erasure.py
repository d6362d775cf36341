"""Erasure on Postgres: two customers' stories recorded sealed, chained and projected (cases, SLA alerts); customer A
is erased; after the projector's rebuild none of A's values is anywhere (stored bytes, every table of the schema,
exports), B's still are, `audit verify` passes, and A's non-personal facts (events, case, SLA outcomes) remain."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from contracts import (
    EVENT_TYPES,
    CustomerRef,
    Envelope,
    IdentityIdentifiersLinked,
    RepairOrderOpened,
    WebRequestSubmitted,
    to_canonical_json,
)
from domain.audit.checkpoint import public_key_from_base64, trusted_keys
from domain.audit.export import readable_differs, verify_export
from domain.identity.identifiers import (
    Identifier,
    IdentifierKind,
    IdentifierProtector,
    customer_id_for,
    customer_key,
    normalise,
)
from domain.intake import protect
from domain.privacy.fields import subject_of
from projections.customers.queries import anchors_of
from projections.customers.sql import SqlCustomerStore
from projections.protocol import ProjectionStore
from services.adapters.audit.keys import private_key_to_base64
from services.adapters.databases import open_views, projection_stores
from services.adapters.opening import open_event_store
from services.adapters.privacy.keys import open_vault, protector_for, sealer_for
from services.adapters.privacy.sealer import Sealer
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore, SealedRow, StoredLogEntry, topic_of
from services.application.audit.service import build_audit_service
from services.application.demo import demo_stories
from services.application.erasure import ErasureService, build_erasure_service
from services.application.projector.engine import ProjectionEngine
from services.application.sla.policies import ensure_default_policy
from services.application.sla.ticker import SlaTicker
from services.entrypoints.app import build_app
from services.entrypoints.cli import app as cli
from services.entrypoints.loops.chainer import build_chainer
from tests.support.sla import CONFIG, at

pytestmark = pytest.mark.integration
KEY = private_key_to_base64(Ed25519PrivateKey.generate())
TOKENS = "admin=admin-token-0000001,auditor=auditor-token-00001,hotline=hotline-token-0001"
NOW = at("2026-11-25", "12:00")
SOURCE = {"department": "hotline", "channel": "phone", "system": "cti", "agent": "hl-0412"}

# A: the credit-card story's customer, plus an e-mail address and a device serial on three more events.
A_CLEAR = {"customer_number": "C-100023", "phone": "13800138000", "national_id": "310104198806152426",
           "email": "Wang.Fang@Example.cn", "device_serial": "SN-WF-558201"}
A_CASE = "CASE-DEMO-003"
# B: the repair story's customer.
B_CLEAR = {"customer_number": "C-300512", "phone": "13912345678", "email": "liu.yang@example.com",
           "device_serial": "KFR35GW-2203-008812"}


@dataclass
class Backbone:
    settings: Settings
    store: EventStore
    views: Engine
    projections: dict[str, ProjectionStore]
    engine: ProjectionEngine
    url: str
    schema: str
    chain: Callable[[], None]

    def dump(self) -> dict[str, list[str]]:
        """Every row of every table of the schema (event store, chain, vault, read models) as text; the stored
        events' bytes (shown as hex by `::text`) also as UTF-8 text, under "stored_events.state"."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s order by 1",
                (self.schema,))]
            dump = {table: [str(row[0]) for row in conn.execute(
                sql.SQL("select t::text from {}.{} t").format(sql.Identifier(self.schema), sql.Identifier(table)))]
                for table in tables}
            dump["stored_events.state"] = [str(row[0]) for row in conn.execute(sql.SQL(
                "select convert_from(state, 'UTF8') from {}.stored_events").format(sql.Identifier(self.schema)))]
        return dump


def a_values(protector: IdentifierProtector) -> list[str]:
    """Every form of A's identifiers that could be stored: as given, normalised, digested and masked."""
    national = A_CLEAR["national_id"]
    return [*A_CLEAR.values(), "+8613800138000", A_CLEAR["email"].casefold(), protector.digest(national),
            protector.mask(national)]


def b_values() -> list[str]:
    return [B_CLEAR["customer_number"], "+8613912345678", B_CLEAR["email"], B_CLEAR["device_serial"]]


def a_anchors(protector: IdentifierProtector) -> list[str]:
    """What identity resolution's `anchors_of` answers for A: the customer id of each of A's identifiers."""
    ids = [normalise(IdentifierKind(kind), value) for kind, value in A_CLEAR.items() if kind != "national_id"]
    ids.append(Identifier(IdentifierKind.NATIONAL_ID, protector.digest(A_CLEAR["national_id"])))
    return [customer_id_for(identifier) for identifier in ids]


def key_of(customer: CustomerRef) -> str:
    """The customer id of a reference that has an identifier (as every reference here does)."""
    key = customer_key(customer)
    assert key is not None
    return key


def extra_a_events(protector: IdentifierProtector) -> list[Envelope]:
    """A's e-mail and device serial: a web request naming only them (so filed under another anchor than A's
    customer number), an agent's link, a repair order."""
    ref = {"customer_number": A_CLEAR["customer_number"], "email": A_CLEAR["email"],
           "device_serial": A_CLEAR["device_serial"]}
    web = WebRequestSubmitted.model_validate({  # after A's case is resolved (see _facts on why)
        "event_id": uuid.uuid4(), "occurred_at": at("2026-11-22", "20:10"),
        "source": {"department": "web", "channel": "web", "system": "website"},
        "customer": {"email": A_CLEAR["email"], "device_serial": A_CLEAR["device_serial"]},
        "payload": {"request_id": "W-A-1", "form": "contact-us", "subject": "信用卡进度",
                    "body": "两个月了还没有收到信用卡，请尽快处理。"}})
    link = IdentityIdentifiersLinked.model_validate({
        "event_id": uuid.uuid4(), "occurred_at": at("2026-11-14", "10:30"), "source": SOURCE, "customer": ref,
        "payload": {"identifiers": [{"kind": "customer_number", "value": A_CLEAR["customer_number"]},
                                    {"kind": "email", "value": A_CLEAR["email"]},
                                    {"kind": "device_serial", "value": A_CLEAR["device_serial"]},
                                    {"kind": "national_id", "value": A_CLEAR["national_id"]}],
                    "reason": "客户来电核实身份后绑定邮箱与设备", "verified": True}})
    repair = RepairOrderOpened.model_validate({
        "event_id": uuid.uuid4(), "occurred_at": at("2026-11-16", "09:10"),
        "source": {"department": "repair", "channel": "internal", "system": "fsm"}, "customer": ref,
        "payload": {"order_id": "RO-A-1", "problem": "读卡器无法识别", "device_serial": A_CLEAR["device_serial"]}})
    return [protect(event, protector) for event in (web, link, repair)]


def story_events(protector: IdentifierProtector) -> list[Envelope]:
    stories = demo_stories(NOW)
    events = [protect(e, protector) for e in (*stories["credit-card"], *stories["repair"])]
    return sorted([*events, *extra_a_events(protector)], key=lambda event: event.occurred_at)


@pytest.fixture
def backbone(postgres_url: str, pg_schema: str, tmp_path: Path) -> Iterator[Backbone]:
    """Both stories recorded as the recorder would (protected, sealed), the SLA ticker ticking at each event's
    time, every projection kept up, the log chained with signed checkpoints."""
    settings = Settings(env="test", database_url=postgres_url, db_schema=pg_schema, data_dir=tmp_path,
                        audit_signing_key=KEY, audit_checkpoint_events=20, projector_batch_size=7,
                        bootstrap_tokens=TOKENS)
    store, views = open_event_store(settings), open_views(settings)
    projections = projection_stores(views)
    engine = ProjectionEngine(store, list(projections.values()), settings.projector_batch_size)
    now = [datetime(2026, 1, 1, tzinfo=NOW.tzinfo)]
    sla = projections["sla"]
    ensure_default_policy(store, CONFIG, sla.policies(), now[0])  # type: ignore[attr-defined]
    ticker = SlaTicker(store, sla, lambda: now[0], catch_up_s=0)  # type: ignore[arg-type]
    for event in story_events(protector_for(settings)):
        now[0] = event.occurred_at
        engine.catch_up()
        ticker.tick()
        store.append([event])
    now[0] = NOW
    engine.catch_up()
    ticker.tick()
    engine.catch_up()
    ticks = itertools.count()
    chainer = build_chainer(settings, store, clock=lambda: NOW + timedelta(seconds=next(ticks)), publish=False)

    def chain() -> None:
        chainer.chainer.catch_up()
        chainer.chainer.checkpoint_if_due(force=True)

    chain()
    yield Backbone(settings, store, views, projections, engine, postgres_url, pg_schema, chain)
    chainer.close()
    store.close()
    views.dispose()


def test_erasing_a_customer_leaves_no_value_anywhere_and_the_chain_verifies(backbone: Backbone) -> None:
    protector = protector_for(backbone.settings)
    gone, kept = a_values(protector), b_values()
    anchors = a_anchors(protector)
    before = backbone.dump()
    assert _found(before, gone) and _found(before, kept)  # the scan can see both customers' values
    stored_text = {"stored_events.state": before["stored_events.state"]}
    assert not _found(stored_text, gone)  # stored sealed, never clear
    assert _found(stored_text, kept) == {"stored_events.state": [B_CLEAR["device_serial"]]}  # B typed it in a form
    facts = _facts(backbone, anchors)
    stored = [r.state for r in backbone.store.read_raw(0, 10_000)]
    assert facts["events"] >= 20 and facts["alerts"] and facts["case"]["status"] == "resolved"

    service = build_erasure_service(backbone.settings, backbone.store, lambda customer_id: anchors)
    try:
        erased = service.erase(anchors[0], "PIPL deletion request DSR-2026-0117", "admin")
    finally:
        service.close()
    assert len(erased.key_ids) >= 2 and erased.position == backbone.store.head()
    opened = [r.event for r in backbone.store.read(0, 10_000)]  # the same store: no stale key is used
    assert not _in_events(opened, gone) and _in_events(opened, kept)

    backbone.engine.catch_up()  # the projector meets privacy.subject_erased and rebuilds from zero
    backbone.chain()
    after = backbone.dump()
    leaks = _found(after, gone)
    assert not leaks, f"A's values remain in {leaks}"
    assert _found(after, kept)
    verdict = build_audit_service(backbone.settings, backbone.store)
    try:
        result = verdict.verify()
    finally:
        verdict.close()
    assert result.ok and result.complete and result.checkpoints_verified >= 2, result.finding
    assert [r.state for r in backbone.store.read_raw(0, 10_000, erased.position - 1)] == stored  # not a byte changed

    pseudonymous = key_of(CustomerRef(customer_number=erased.pseudonym))
    assert _facts(backbone, [pseudonymous]) == facts  # events, case and SLA outcomes, under one pseudonym


def test_an_export_holds_no_value_of_an_erased_customer(backbone: Backbone) -> None:
    export = pytest.importorskip("services.application.audit.export")
    from services.application.audit.export import customer_exporter
    from services.application.audit.service import NotFound

    protector = protector_for(backbone.settings)
    anchors = a_anchors(protector)
    service = build_erasure_service(backbone.settings, backbone.store, lambda customer_id: anchors)
    erased = service.erase(anchors[0], "DSR-2026-0118", "admin")
    service.close()
    backbone.engine.catch_up()
    backbone.chain()
    audit = build_audit_service(backbone.settings, backbone.store)
    timeline = backbone.projections["timeline"]
    exporter: Any = customer_exporter(audit, backbone.store, timeline)  # type: ignore[arg-type]
    assert isinstance(exporter, export.CustomerExporter)
    try:
        pseudonymous = key_of(CustomerRef(customer_number=erased.pseudonym))
        lines = b"".join(exporter.export(pseudonymous)).decode()
        b_lines = b"".join(exporter.export(key_of(CustomerRef(**B_CLEAR)))).decode()
        with pytest.raises(NotFound):
            exporter.export(anchors[0])  # A's former id names no events any more
    finally:
        audit.close()
    assert lines.count('"kind":"event"') == _facts(backbone, [pseudonymous])["events"]
    assert not [value for value in a_values(protector) if value in lines + b_lines]


def test_an_exports_readable_copy_shows_the_customers_values_until_erased_and_never_after(backbone: Backbone) -> None:
    from services.application.audit.export import customer_exporter

    protector = protector_for(backbone.settings)
    anchors, gone = a_anchors(protector), a_values(protector)
    audit = build_audit_service(backbone.settings, backbone.store)
    keys = trusted_keys(public_key_from_base64(audit.public_key()["public_key"]))
    timeline: Any = backbone.projections["timeline"]
    b_customer = key_of(CustomerRef(**B_CLEAR))
    try:
        before = list(customer_exporter(audit, backbone.store, timeline).export(anchors[0]))
        service = build_erasure_service(backbone.settings, backbone.store, lambda customer_id: anchors)
        try:
            erased = service.erase(anchors[0], "DSR-2026-0121", "admin")
        finally:
            service.close()
        backbone.engine.catch_up()
        backbone.chain()
        exporter = customer_exporter(audit, backbone.store, timeline)  # a fresh one, as each request builds
        pseudonymous = key_of(CustomerRef(customer_number=erased.pseudonym))
        after = list(exporter.export(pseudonymous))
        b_after = list(exporter.export(b_customer))
    finally:
        audit.close()

    lines = [orjson.loads(line) for line in before[1:-1]]  # sealing on: the clear values only in `readable`
    readable = "\n".join(orjson.dumps(line["readable"]).decode() for line in lines)
    sealed = "\n".join(orjson.dumps(line["event"]).decode() for line in lines)
    assert A_CLEAR["customer_number"] in readable and A_CLEAR["phone"] in readable  # as sent
    assert not [value for value in gone if value in sealed]
    assert verify_export(before, keys).ok

    text_after = b"".join(after).decode()  # neither `event` nor `readable` holds any of A's values
    assert not [value for value in gone if value.casefold() in text_after.casefold()]
    events = [orjson.loads(line) for line in after[1:-1]]
    assert events and all(isinstance(line["readable"], dict) for line in events)
    assert erased.pseudonym in "\n".join(orjson.dumps(line["readable"]).decode() for line in events)
    verdict = verify_export(after, keys)
    assert verdict.ok and verdict.events == len(events), verdict.finding
    assert {line["event_id"] for line in events} >= {line["event_id"] for line in lines}  # the same events, proven

    b_readable = "\n".join(orjson.dumps(orjson.loads(line)["readable"]).decode() for line in b_after[1:-1])
    assert B_CLEAR["customer_number"] in b_readable and verify_export(b_after, keys).ok  # B's still readable


def test_only_admins_may_erase_over_http_and_an_unknown_customer_is_404(backbone: Backbone) -> None:
    service = build_erasure_service(backbone.settings, backbone.store)  # the default: one anchor per customer
    client = TestClient(build_app(_Components(backbone.settings, service)))
    b_customer = key_of(CustomerRef(**B_CLEAR))
    body = {"customer_id": b_customer, "reason": "DSR-2026-0119"}
    try:
        for token in ("auditor-token-00001", "hotline-token-0001"):
            denied = client.post("/v1/privacy/erasures", json=body, headers={"Authorization": f"Bearer {token}"})
            assert denied.status_code == 403
        admin = {"Authorization": "Bearer admin-token-0000001"}
        refused = client.post("/v1/privacy/erasures", json=body | {"reason": "DSR\x00"}, headers=admin)
        assert refused.status_code == 422  # a reason the log cannot record: nothing is erased
        done = client.post("/v1/privacy/erasures", json=body, headers=admin)
        assert done.status_code == 201, done.text
        answer = done.json()
        assert answer["keys_destroyed"] == 1 and answer["position"] == backbone.store.head()
        assert "rebuild" in answer["read_models"]
        again = client.post("/v1/privacy/erasures", json=body, headers=admin)
        assert again.status_code == 404  # nothing left to erase
    finally:
        service.close()
    recorded = backbone.store.read(answer["position"] - 1, 1)[0].event
    assert recorded.event_type == "privacy.subject_erased" and recorded.customer == CustomerRef()
    assert str(recorded.payload.erasure_id) == answer["erasure_id"]  # type: ignore[attr-defined]


def test_cli_erase_names_the_pseudonym_and_exits_1_for_an_unknown_customer(backbone: Backbone) -> None:
    env = {"TOUCHLINE_ENV": "test", "DATABASE_URL": backbone.url, "TOUCHLINE_DB_SCHEMA": backbone.schema,
           "TOUCHLINE_DATA_DIR": str(backbone.settings.data_dir), "TOUCHLINE_AUDIT_SIGNING_KEY": KEY}
    runner = CliRunner()
    b_customer = key_of(CustomerRef(**B_CLEAR))
    directory = backbone.projections["customers"]
    assert isinstance(directory, SqlCustomerStore)
    assert len(anchors_of(directory, b_customer)) == 4  # identity resolution: B's four identifiers are one customer
    keys = 2  # B's events were stored under two of them (customer number, device serial): one data key each
    done = runner.invoke(cli, ["privacy", "erase", b_customer, "--reason", "DSR-2026-0120"], env=env)
    assert done.exit_code == 0, done.output
    assert re.search(rf"{keys} data key\(s\) destroyed, recorded at position \d+; values now read as erased-",
                     done.stdout)
    unknown = runner.invoke(cli, ["privacy", "erase", str(uuid.uuid4()), "--reason", "x"], env=env)
    assert unknown.exit_code == 1 and "no personal data" in unknown.output
    assert "--reason" in runner.invoke(cli, ["privacy", "erase", "--help"]).output
    kek = runner.invoke(cli, ["privacy", "generate-kek"])
    assert kek.exit_code == 0 and kek.stdout.startswith("TOUCHLINE_PRIVACY_KEK=")
    production: dict[str, Any] = {"env": "production", "kafka_bootstrap_servers": "kafka:9092",
                                  "database_url": backbone.url, "id_hash_key": "a-real-secret-of-32-characters!!",
                                  "audit_signing_key": KEY}
    assert Settings(**production, privacy_kek=kek.stdout.strip().partition("=")[2]).env == "production"


def test_a_store_without_a_sealer_refuses_sealed_rows(backbone: Backbone) -> None:
    plain = EventStore(backbone.url, schema=backbone.schema)
    try:
        with pytest.raises(SealedRow, match="open the store with a sealer"):
            plain.read(0, 10)
        assert plain.read_raw(0, 10)  # the raw rows (what the chain hashes) are still there to read
    finally:
        plain.close()


@dataclass
class _Components:
    settings: Settings
    erasure: ErasureService


def _found(dump: dict[str, list[str]], values: list[str]) -> dict[str, list[str]]:
    """Per table, the values found in its rows (case-insensitively)."""
    found: dict[str, list[str]] = {}
    for table, rows in dump.items():
        text = "\n".join(rows).casefold()
        hits = [value for value in values if value.casefold() in text]
        if hits:
            found[table] = hits
    return found


def _in_events(events: list[Envelope], values: list[str]) -> list[str]:
    text = "\n".join(event.model_dump_json() for event in events).casefold()
    return [value for value in values if value.casefold() in text]


NON_PERSONAL_TABLES = ("sla_alerts", "sla_clocks", "sla_policies", "case_handoffs", "case_contacts",
                       "case_anomalies", "timeline_unattributed")
"""Read-model tables that hold no customer id: an erasure leaves them exactly as they were."""


def _facts(backbone: Backbone, customer_ids: list[str]) -> dict[str, Any]:
    """The customer's non-personal facts: timeline events by type, their case and its SLA outcomes as operations
    see them (the customer id itself replaced by a placeholder), and the tables that name no customer.

    One erasure of several anchors makes their events one pseudonymous customer. The read models here key customers
    by anchor (identity resolution is not plugged in), so an A contact filed under another anchor while A's case was
    open would, after the erasure, count as a repeat contact on that case; identity resolution sees it so before
    already. A's extra contact therefore comes after the case is resolved."""
    ids = {"ids": customer_ids}
    with backbone.views.connect() as conn:
        events = dict(conn.execute(text("select event_type, count(*) from timeline_entries "
                                        "where customer_id = any(:ids) group by event_type"), ids).tuples().all())
        case = conn.execute(text("select * from case_states where case_id = :case"), {"case": A_CASE}).mappings().one()
        promises = conn.execute(text("select promise_id, department, agent, due_us, made_us, released_us, "
                                     "customer_id = any(:ids) from sla_promises where case_id = :case order by 1"),
                                ids | {"case": A_CASE}).all()
        sla_case = conn.execute(text("select data from sla_cases where case_id = :case"), {"case": A_CASE}).scalar()
        tables = {name: sorted(str(row) for row in conn.execute(text(f"select * from {name}")))
                  for name in NON_PERSONAL_TABLES}
    return {"events": sum(events.values()), "by_type": events, "promises": promises,
            "case": {**{k: v for k, v in case.items() if k not in {"customer_id", "state"}},
                     "customer": case["customer_id"] in customer_ids,
                     "state": {k: v for k, v in orjson.loads(case["state"]).items()
                               if k not in {"customer_id", "given"}}},  # given: the identifiers, personal
            "sla_case": _placeholder(str(sla_case), customer_ids), "alerts": tables["sla_alerts"], "tables": tables}


def _placeholder(textual: str, customer_ids: list[str]) -> str:
    for customer_id in customer_ids:
        textual = textual.replace(customer_id, "<customer>")
    return textual


def test_opening_any_event_type_departs_from_the_record_only_where_values_are_sealed(tmp_path: Path) -> None:
    """What an export's verifier accepts of a readable copy (domain.audit.export.readable_differs) holds for every
    contract: opened with live keys, and with every key destroyed (pseudonyms)."""
    settings = Settings(env="test", data_dir=tmp_path, database_url="", views_database_url="")
    person = {"customer_number": "C-900001", "phone": "13800138000", "email": "li.na@example.cn"}
    events: list[Envelope] = []
    for model in EVENT_TYPES.values():
        data = model.example_data()
        if data.get("customer"):  # every contract with a customer reference gets a full one
            data["customer"] = data["customer"] | person
        events.append(protect(model.model_validate(data), protector_for(settings)))
    sealer = sealer_for(settings)
    rows = [StoredLogEntry(n, e.event_id, topic_of(e), state)
            for n, (e, state) in enumerate(zip(events, sealer.seal(events), strict=True), start=1)]
    assert sum(b"sealed:v1:" in row.state for row in rows) >= len(rows) // 2  # most contracts hold personal values

    def departures(opener: Sealer) -> list[tuple[str, str | None]]:
        return [(row.topic, readable_differs(orjson.loads(row.state), orjson.loads(to_canonical_json(event))))
                for row, event in zip(rows, opener.open(rows), strict=True)]

    assert [d for d in departures(sealer) if d[1] is not None] == []
    sealer.close()
    vault = open_vault(settings)
    anchors = {s for e in events if (s := subject_of(e.model_dump(mode="json", exclude_none=True), e.customer))}
    assert vault.destroy(anchors, "erasure-1", str(uuid.uuid4()), "test", datetime.now(UTC))
    vault.close()
    after = sealer_for(settings)
    assert [d for d in departures(after) if d[1] is not None] == []
    shown = [orjson.loads(to_canonical_json(e)) for e in after.open(rows)]
    assert "C-900001" not in str(shown) and "13800138000" not in str(shown)  # pseudonyms, not the values
    after.close()
