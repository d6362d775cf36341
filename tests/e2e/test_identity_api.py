"""Identity resolution end to end on the real broker and Postgres: one customer across phone, e-mail and national
ID; a shared switchboard; an unlink that restores both timelines exactly; no national ID in clear anywhere."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer
from psycopg import sql

from contracts import EVENT_TYPES
from projections.customers.sql import SqlCustomerStore
from projections.registry import NAMES
from projections.sqlstore import make_engine, url_with_search_path
from services.application.projector.engine import rebuild
from tests.support.pipeline import BEARER, Backbone, pipeline_settings, running_backbone, wait_for

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PHONE, EMAIL, NATIONAL_ID = "13912345678", "Wang.Fang@Example.cn", "11010519491231002X"


def event(event_type: str, department: str, channel: str, minutes: int, customer: dict[str, str],
          **fields: Any) -> dict[str, Any]:
    data = EVENT_TYPES[(event_type, 1)].example_data()
    data.update(event_id=str(uuid.uuid4()), occurred_at=(T0 + timedelta(minutes=minutes)).isoformat(),
                source={"department": department, "channel": channel, "agent": f"{department}-agent-7"},
                customer=customer)
    if "payload" in fields:
        data["payload"] = {**data["payload"], **fields.pop("payload")}
    data.update(fields)
    if not data.get("case_id"):
        data.pop("case_id", None)
    return data


def link(minutes: int, *identifiers: tuple[str, str], reason: str) -> dict[str, Any]:
    return event("identity.identifiers_linked", "hotline", "phone", minutes, {"phone": identifiers[0][1]},
                 payload={"identifiers": [{"kind": k, "value": v} for k, v in identifiers], "reason": reason,
                          "verified": True})


@pytest.fixture
def stack(kafka_bootstrap: str, postgres_url: str, pg_schema: str, kafka_topic: str) -> Iterator[Backbone]:
    settings = pipeline_settings(kafka_bootstrap, postgres_url, pg_schema, kafka_topic)
    with running_backbone(settings) as running:
        running.api.clock = lambda: T0 + timedelta(hours=2)
        yield running


def publish(stack: Backbone, department: str, *events: dict[str, Any]) -> None:
    response = stack.client.post("/v1/events", json=list(events), headers=BEARER[department])
    assert response.status_code == 202, response.text


def settled(stack: Backbone, count: int) -> None:
    """Wait until the log holds `count` events and every projection has applied them."""
    def done() -> bool:
        head = stack.api.event_store.head()
        return head >= count and stack.api.customers.directory.position() >= head and \
            stack.api.timeline.position() >= head and stack.api.customers.cases.position() >= head
    wait_for(done, 20, f"{count} events recorded and projected")


def customer_of(stack: Backbone, identifier: str) -> str:
    if identifier.startswith("national_id:"):  # in the body: a national ID never goes into a URL (or a log)
        found = stack.client.post("/v1/customers/lookup", json={"identifier": identifier}, headers=BEARER["ops"])
    else:
        found = stack.client.get("/v1/customers", params={"identifier": identifier}, headers=BEARER["ops"])
    assert found.status_code == 200, found.text
    return str(found.json()["customer_id"])


def timeline(stack: Backbone, customer_id: str) -> list[str]:
    page = stack.client.get(f"/v1/customers/{customer_id}/timeline", params={"limit": 500}, headers=BEARER["ops"])
    return [e["event_id"] for e in page.json()["entries"]] if page.status_code == 200 else []


def test_phone_then_confirmed_email_then_national_id_is_one_customer_with_a_card(
        stack: Backbone, caplog: pytest.LogCaptureFixture, kafka_bootstrap: str, kafka_topic: str,
        postgres_url: str, pg_schema: str) -> None:
    caplog.set_level(logging.DEBUG)
    call = event("call.received", "hotline", "phone", 0, {"phone": PHONE})
    opened = event("case.opened", "hotline", "phone", 5, {"phone": PHONE}, case_id="CASE-ID-1")
    web = event("web.request_submitted", "web", "web", 30, {"email": EMAIL})
    confirm = link(40, ("phone", PHONE), ("email", EMAIL), reason="e-mail confirmed on the call")
    visit = event("frontdesk.visit_checked_in", "frontdesk", "front_desk", 90,
                  {"national_id": NATIONAL_ID, "phone": "+86 139 1234 5678"})
    publish(stack, "hotline", call, opened)
    publish(stack, "web", web)
    settled(stack, 3)
    assert customer_of(stack, f"phone:{PHONE}") != customer_of(stack, f"email:{EMAIL}")
    # Events without a case go to partitions by event id, so two posts may be recorded in either order when the
    # recorder lags; the visit comes 50 minutes after the call, so the test lets the link land first.
    publish(stack, "hotline", confirm)
    settled(stack, 4)
    publish(stack, "frontdesk", visit)
    settled(stack, 5)

    customer = customer_of(stack, f"phone:{PHONE}")
    assert customer_of(stack, f"email:{EMAIL}") == customer
    assert customer_of(stack, f"national_id:{NATIONAL_ID}") == customer
    assert timeline(stack, customer) == [e["event_id"] for e in (call, opened, web, confirm, visit)]

    card = stack.client.get(f"/v1/customers/{customer}/card", headers=BEARER["frontdesk"]).json()
    assert card["recognition"]["contacts"] == 3
    assert card["recognition"]["by_channel"] == {"front_desk": 1, "phone": 1, "web": 1}
    assert card["recognition"]["text"] == "1st visit in 1 days"
    assert [(c["case_id"], c["holder"], c["status"]) for c in card["open_cases"]] == [("CASE-ID-1", "hotline",
                                                                                       "open")]
    assert card["segment"] == "new" and card["first_contact_at"].startswith("2026-11-23T09:00")
    assert {i["kind"] for i in card["identifiers"]} == {"phone", "email", "national_id"}
    assert "**************002X" in [i["shown"] for i in card["identifiers"]]
    assert [e["event_type"] for e in card["recent_interactions"]][0] == "frontdesk.visit_checked_in"
    identity = stack.client.get(f"/v1/customers/{customer}/identity", headers=BEARER["ops"]).json()
    assert [(d["kind"], d["event_id"]) for d in identity["lineage"]] == [
        ("merged", confirm["event_id"]), ("merged", visit["event_id"])]

    # No national ID in clear text: not in the store, not in any read model, not on Kafka, not in the logs.
    needles = {NATIONAL_ID, NATIONAL_ID.lower(), "110105194912310"}
    with psycopg.connect(postgres_url) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s", (pg_schema,))]
        assert {"stored_events", "timeline_entries", "customer_nodes", "case_states"} <= set(tables)
        dumped = "\n".join(str(row) for table in tables for row in conn.execute(
            sql.SQL("select row_to_json(t)::text from {}.{} t").format(sql.Identifier(pg_schema),
                                                                      sql.Identifier(table))))
    consumer = KafkaConsumer(kafka_topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=3000, group_id=None)
    try:
        on_kafka = b"\n".join(record.value for record in consumer).decode()
    finally:
        consumer.close()
    assert visit["event_id"] in dumped and visit["event_id"] in on_kafka  # the scans see the visit itself
    for needle in needles:
        assert needle not in dumped
        assert needle not in on_kafka
        assert needle not in caplog.text


def test_a_shared_switchboard_merges_nobody_and_is_reported(stack: Backbone) -> None:
    switchboard = "021-6288 0000"
    publish(stack, "hotline",
            event("call.received", "hotline", "phone", 0, {"customer_number": "ACME-001", "phone": switchboard}),
            event("call.received", "hotline", "phone", 1, {"customer_number": "BETA-002", "phone": switchboard}),
            event("call.received", "hotline", "phone", 2, {"phone": switchboard}))
    settled(stack, 3)
    acme, beta = customer_of(stack, "customer_number:ACME-001"), customer_of(stack, "customer_number:BETA-002")
    assert acme != beta
    assert len(timeline(stack, acme)) == 1 and len(timeline(stack, beta)) == 1
    shared = stack.client.get("/v1/identity/shared", headers=BEARER["ops"]).json()
    assert [(s["kind"], sorted(s["customers"])) for s in shared] == [("phone", sorted([acme, beta]))]
    assert "02162880000" not in str(shared)  # reported masked
    lookup = stack.client.get("/v1/customers", params={"identifier": f"phone:{switchboard}"},
                              headers=BEARER["ops"]).json()
    assert lookup["customers"][0]["shared"] is True


def test_an_unlink_restores_both_timelines_exactly_as_a_rebuild_from_zero(
        stack: Backbone, postgres_url: str, pg_schema: str) -> None:
    phone, email = "13700001111", "zhao@example.cn"
    publish(stack, "hotline", event("call.received", "hotline", "phone", 0, {"phone": phone}),
            event("call.received", "hotline", "phone", 10, {"phone": phone}))
    publish(stack, "web", event("web.request_submitted", "web", "web", 5, {"email": email}))
    settled(stack, 3)
    by_phone, by_email = customer_of(stack, f"phone:{phone}"), customer_of(stack, f"email:{email}")
    before = {by_phone: timeline(stack, by_phone), by_email: timeline(stack, by_email)}
    assert len(before[by_phone]) == 2 and len(before[by_email]) == 1

    publish(stack, "hotline", link(20, ("phone", phone), ("email", email), reason="looked alike"))
    settled(stack, 4)
    merged = customer_of(stack, f"phone:{phone}")  # the older of the two ids: log order decides which
    assert customer_of(stack, f"email:{email}") == merged and merged in (by_phone, by_email)
    assert len(timeline(stack, merged)) == 4
    unlink = event("identity.identifiers_unlinked", "hotline", "phone", 30, {}, payload={
        "identifier": {"kind": "email", "value": email}, "from_identifier": {"kind": "phone", "value": phone},
        "reason": "different people"})
    publish(stack, "hotline", unlink)
    settled(stack, 5)

    assert (customer_of(stack, f"email:{email}"), customer_of(stack, f"phone:{phone}")) == (by_email, by_phone)
    link_event_id = timeline(stack, by_phone)[-1]  # the link event itself is on the phone customer's timeline
    assert {by_phone: timeline(stack, by_phone)[:-1], by_email: timeline(stack, by_email)} == before
    assert link_event_id not in before[by_phone]

    fresh = make_engine(url_with_search_path(postgres_url, pg_schema))
    live = stack.api.customers.directory
    try:
        with fresh.begin() as conn:
            conn.exec_driver_sql("create schema if not exists rebuilt_" + pg_schema)
        rebuilt_engine = make_engine(url_with_search_path(postgres_url, "rebuilt_" + pg_schema))
        rebuilt = SqlCustomerStore(rebuilt_engine)
        rebuild(stack.api.event_store, rebuilt, 2)
        assert rebuilt.checksum() == live.checksum()
        rebuilt_engine.dispose()
    finally:
        with fresh.begin() as conn:
            conn.exec_driver_sql("drop schema if exists rebuilt_" + pg_schema + " cascade")
        fresh.dispose()

    # An auditor asks the running API for a replay of every projection: all equal to live.
    started = stack.client.post("/v1/audit/replays", headers=BEARER["auditor"])
    assert started.status_code == 202, started.text
    assert stack.api.replays is not None
    done = stack.api.replays.join(started.json()["replay_id"], 60)
    assert done is not None and done.status == "equal", done
    assert done.comparison is not None and set(done.comparison.live) == set(NAMES)
