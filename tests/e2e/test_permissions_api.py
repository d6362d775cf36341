"""Permissions by staff level over HTTP on the real broker and Postgres: every route against every kind of token
(one table), then what department tokens see: their cases, the customers they touched, others' notes masked."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from psycopg import sql

from contracts import Envelope, to_canonical_json
from domain.sla.policy import PolicyBook
from services.application.demo import SHANGHAI, demo_events
from services.application.sla.policies import ensure_default_policy
from services.application.sla.ticker import SlaTicker
from services.entrypoints.api.permissions import MATRIX, STAFF, Kind, Scope, route_key
from services.entrypoints.app import api_routes, build_app
from services.entrypoints.loops.chainer import build_chainer
from tests.support.builders import make_event
from tests.support.pipeline import Backbone, pipeline_settings, running_backbone, wait_for

pytestmark = pytest.mark.e2e

TOKENS = {
    "hotline": "hotline-staff-token-0001", "hotline-manager": "hotline-manager-token-02",
    "card_centre": "card-staff-token-000003", "card_centre-manager": "card-manager-token-0004",
    "ops": "ops-token-0000000000005", "auditor": "auditor-token-000000006", "admin": "admin-token-00000000007",
}
ROLES = ("anonymous", *TOKENS)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=SHANGHAI)
NATIONAL_ID = "310104198806152426"  # the credit-card customer's (demo events carry it in clear; stored digested)
CARD_CUSTOMER, REPAIR_CUSTOMER = "customer_number:C-100023", "customer_number:C-300512"
CARD_CASE, REPAIR_CASE, HOTLINE_CASE = "CASE-DEMO-003", "CASE-DEMO-004", "CASE-HL-0001"


def headers(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"} if role in TOKENS else {}


@dataclass
class World:
    """The demo stories plus a case opened by the hotline, projected, with SLA alerts raised at NOW."""

    stack: Backbone
    customers: dict[str, str]  # identifier -> customer id
    acked_alert: str  # a card_centre alert already acknowledged
    open_alert: str  # a card_centre alert nobody acknowledged

    @property
    def client(self) -> httpx.Client:
        return self.stack.client

    def get(self, role: str, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params, headers=headers(role))


@contextlib.contextmanager
def fresh_topic_and_schema(kafka: str, postgres_url: str) -> Iterator[tuple[str, str]]:
    """One topic and one schema for the whole module (the conftest ones are per test)."""
    topic, schema = f"t-{uuid.uuid4().hex[:8]}", f"t_{uuid.uuid4().hex[:8]}"
    with KafkaAdminClient(bootstrap_servers=kafka) as admin, psycopg.connect(postgres_url, autocommit=True) as conn:
        admin.create_topics({topic: {"num_partitions": 3, "replication_factor": 1}}, wait_for_metadata=True)
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        try:
            yield topic, schema
        finally:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
            with contextlib.suppress(KafkaError):
                admin.delete_topics([topic])


def hotline_case() -> Envelope:
    """A case the hotline opens for the repair story's customer (the hotline also took her call)."""
    return make_event("case.opened", occurred_at=NOW - timedelta(days=1), department="hotline", channel="phone",
                      customer={"phone": "13912345678"}, case_id=HOTLINE_CASE,
                      event_id=uuid.uuid5(uuid.NAMESPACE_URL, "urn:test:permissions:hotline-case"))


def caught_up(stack: Backbone) -> Callable[[], bool]:
    api = stack.api
    assert api.sla is not None
    stores = (api.timeline, api.cases.store, api.customers.directory, api.sla.store)
    return lambda: all(s.position() >= api.event_store.head() for s in stores)


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_url: str) -> Iterator[World]:
    with fresh_topic_and_schema(kafka_bootstrap, postgres_url) as (topic, schema):
        tokens = ",".join(f"{name}={token}" for name, token in TOKENS.items())
        settings = pipeline_settings(kafka_bootstrap, postgres_url, schema, topic, bootstrap_tokens=tokens)
        with running_backbone(settings) as stack:
            yield build_world(stack)


def checkpoint(stack: Backbone) -> None:
    """Chain and sign everything recorded so far (no chainer runs in the stack), so exports find a checkpoint."""
    chain = build_chainer(stack.api.settings, stack.api.event_store, clock=lambda: NOW, publish=False)
    chain.chainer.catch_up()
    chain.chainer.checkpoint_if_due(force=True)
    chain.close()


def build_world(stack: Backbone) -> World:
    api = stack.api
    assert api.sla is not None
    api.clock = lambda: NOW
    ensure_default_policy(api.event_store, api.sla.config, PolicyBook(), NOW - timedelta(days=90))
    events = [*demo_events(NOW), hotline_case()]
    api.publisher.publish(events)
    wait_for(lambda: api.event_store.head() >= len(events) + 1, 30, "demo events recorded")
    wait_for(caught_up(stack), 30, "demo events projected")
    assert SlaTicker(api.event_store, api.sla.store, lambda: NOW, catch_up_s=0).tick() != []
    wait_for(caught_up(stack), 30, "alerts projected")
    checkpoint(stack)
    ops = headers("ops")
    customers = {identifier: stack.client.post("/v1/customers/lookup", json={"identifier": identifier},
                                               headers=ops).json()["customer_id"]
                 for identifier in (CARD_CUSTOMER, REPAIR_CUSTOMER)}
    alerts = stack.client.get("/v1/alerts", params={"department": "card_centre"}, headers=ops).json()["alerts"]
    assert len(alerts) >= 2
    acked, still_open = alerts[0]["alert_id"], alerts[1]["alert_id"]
    ack = stack.client.post(f"/v1/alerts/{acked}/ack", json={"acknowledged_by": "值班经理"}, headers=ops)
    assert ack.status_code == 201, ack.text
    return World(stack, customers, acked, still_open)


# ---------------------------------------------------------------------------------------------------------------
# The table: operation -> (method, path, request) and the expected status per role. Columns follow ROLES:
# anonymous, hotline, hotline-manager, card_centre, card_centre-manager, ops, auditor, admin.
# The card customer, the card case and the alerts belong to card_centre (and loan, approval_office): the hotline's
# tokens never dealt with them, so they get 404 for each of them, as if they did not exist.

OK = (200,) * 8
READ_ALL = (401, 200, 200, 200, 200, 200, 200, 200)
CARD_SCOPED = (401, 404, 404, 200, 200, 200, 200, 200)
ROLES_ONLY = (401, 403, 403, 403, 403, 200, 200, 200)
AUDIT_ONLY = (401, 403, 403, 403, 403, 403, 200, 200)
MANAGERS_AND_ROLES = (401, 403, 200, 403, 200, 200, 200, 200)

Request = Callable[[World], dict[str, Any]]


def _get(path: str, **params: Any) -> Request:
    return lambda w: {"method": "GET", "url": path.format(**_ids(w)), "params": params}


def _post(path: str, body: Callable[[World], Any]) -> Request:
    return lambda w: {"method": "POST", "url": path.format(**_ids(w)), "json": body(w)}


def _ids(w: World) -> dict[str, str]:
    return {"card_customer": w.customers[CARD_CUSTOMER], "acked_alert": w.acked_alert}


def _hotline_event(_: World) -> dict[str, Any]:
    event = make_event("call.received", occurred_at=NOW, department="hotline", channel="phone",
                       customer={"phone": "13700001111"}, event_id=uuid.uuid5(uuid.NAMESPACE_URL, "urn:test:perm"))
    return dict(orjson.loads(to_canonical_json(event)))


TABLE: dict[str, tuple[Request, tuple[int | tuple[int, ...], ...]]] = {
    "publish_events": (_post("/v1/events", _hotline_event), (401, 202, 202, 403, 403, 403, 403, 403)),
    "find_customer": (_get("/v1/customers", identifier=CARD_CUSTOMER), CARD_SCOPED),
    "lookup_customer": (_post("/v1/customers/lookup", lambda w: {"identifier": CARD_CUSTOMER}), CARD_SCOPED),
    "customer_timeline": (_get("/v1/customers/{card_customer}/timeline"), CARD_SCOPED),
    "customer_card": (_get("/v1/customers/{card_customer}/card"), CARD_SCOPED),
    "customer_identity": (_get("/v1/customers/{card_customer}/identity"), CARD_SCOPED),
    "shared_identifiers": (_get("/v1/identity/shared"), ROLES_ONLY),
    "case_board": (_get("/v1/cases"), READ_ALL),
    "case_view": (_get(f"/v1/cases/{CARD_CASE}"), CARD_SCOPED),
    "explain_case_sla": (_get(f"/v1/cases/{CARD_CASE}/sla"), CARD_SCOPED),
    "repeat_contacts": (_get("/v1/repeat-contacts"), READ_ALL),
    "case_anomalies": (_get("/v1/case-anomalies"), READ_ALL),
    "department_inbox": (_get("/v1/departments/card_centre/inbox"), (401, 403, 403, 200, 200, 200, 200, 200)),
    "handoff_matrix": (_get("/v1/handoffs/matrix"), READ_ALL),
    "dropped_handoffs": (_get("/v1/handoffs/dropped"), READ_ALL),
    "ping_pong": (_get("/v1/handoffs/ping-pong"), READ_ALL),
    "list_sla_policies": (_get("/v1/sla/policies"), READ_ALL),
    "get_sla_policy": (_get("/v1/sla/policies/1"), READ_ALL),
    "publish_sla_policy": (_post("/v1/sla/policies", lambda w: {"rules": []}),  # 422: allowed, then refused
                           (401, 403, 403, 403, 403, 422, 403, 422)),
    "list_alerts": (_get("/v1/alerts"), READ_ALL),
    "get_alert": (_get("/v1/alerts/{acked_alert}"), CARD_SCOPED),
    "acknowledge_alert": (_post("/v1/alerts/{acked_alert}/ack", lambda w: {"acknowledged_by": "王经理"}),
                          (401, 403, 404, 403, 409, 409, 403, 409)),  # 409: allowed, already acknowledged
    "list_promises": (_get("/v1/promises"), READ_ALL),
    "promise_ledger": (_get("/v1/promises/ledger"), READ_ALL),
    **{f"quality_{name}": (_get(f"/v1/quality/{name}"), MANAGERS_AND_ROLES)
       for name in ("servqual", "scorecard", "fcr", "proactive", "touchpoints", "segments", "staff")},
    "audit_public_key": (_get("/v1/audit/public-key"), OK),
    "list_audit_checkpoints": (_get("/v1/audit/checkpoints"), AUDIT_ONLY),
    "audit_inclusion_proof": (_get("/v1/audit/proofs/inclusion", event_id=str(uuid.UUID(int=1))),
                              (401, 403, 403, 403, 403, 403, 404, 404)),
    "audit_consistency_proof": (_get("/v1/audit/proofs/consistency", **{"from": 1, "to": 1}), AUDIT_ONLY),
    "audit_verify": (_get("/v1/audit/verify"), AUDIT_ONLY),
    "audit_export_customer": (_get("/v1/audit/customers/{card_customer}/export"), AUDIT_ONLY),
    "audit_as_of": (_get("/v1/audit/as-of", case_id=CARD_CASE, position=5), AUDIT_ONLY),
    "start_audit_replay": (_post("/v1/audit/replays", lambda w: None),
                           (401, 403, 403, 403, 403, 403, (202, 409), (202, 409))),  # 409: one already runs
    "list_audit_replays": (_get("/v1/audit/replays"), AUDIT_ONLY),
    "get_audit_replay": (_get("/v1/audit/replays/no-such-replay"), (401, 403, 403, 403, 403, 403, 404, 404)),
    "erase_customer": (_post("/v1/privacy/erasures", lambda w: {"customer_id": "nobody", "reason": "T-1"}),
                       (401, 403, 403, 403, 403, 403, 403, 404)),  # 404: allowed, nothing held for nobody
    "list_projection_failures": (_get("/v1/projections/failures"), ROLES_ONLY),
    "retry_projection_failure": (_post("/v1/projections/failures/timeline/1/retry", lambda w: None),
                                 (401, 403, 403, 403, 403, 404, 403, 404)),  # 404: allowed, nothing parked there
    "healthz": (_get("/healthz"), OK),
    "readyz": (_get("/readyz"), OK),
    "metrics": (_get("/metrics"), OK),
    "openapi": (_get("/openapi.json"), OK),
    "swagger_ui_html": (_get("/docs"), OK),
    "swagger_ui_redirect": (_get("/docs/oauth2-redirect"), OK),
    "redoc_html": (_get("/redoc"), OK),
}


def test_every_route_answers_every_kind_of_token_as_the_matrix_says(world: World) -> None:
    routes = [route_key(r) for r in api_routes(build_app(world.stack.api))]  # the app the stack serves
    assert sorted(routes) == sorted(TABLE), "a route without a row in this table (or a row without a route)"
    checkpoint(world.stack)
    failures, bodies = [], []
    for operation in sorted(routes, key=lambda op: op == "publish_events"):  # it records: after the export
        request, expected = TABLE[operation]
        for role, wanted in zip(ROLES, expected, strict=True):
            _agrees_with_matrix(operation, role, wanted)
            response = world.client.request(**request(world), headers=headers(role))
            bodies.append(response.text)
            if response.status_code not in (wanted if isinstance(wanted, tuple) else (wanted,)):
                failures.append(f"{operation} as {role}: {response.status_code}, expected {wanted}: "
                                f"{response.text[:200]}")
    assert failures == []
    assert not [b for b in bodies if NATIONAL_ID in b], "a national ID in clear in a response"


def _agrees_with_matrix(operation: str, role: str, wanted: int | tuple[int, ...]) -> None:
    """The table's 401/403 are the matrix's refusals, or another department under an own-department scope (so the
    table cannot drift from the code)."""
    rule = MATRIX[operation]
    if role == "anonymous":
        assert (wanted == 401) == (rule.kinds is not None), (operation, role)
        return
    kind = {"hotline": Kind.DEPARTMENT, "card_centre": Kind.DEPARTMENT, "hotline-manager": Kind.MANAGER,
            "card_centre-manager": Kind.MANAGER}.get(role) or Kind(role)
    if not rule.allows(kind):
        assert wanted == 403, (operation, role)
    elif wanted == 403:
        assert rule.scope is Scope.OWN_DEPARTMENT and kind in STAFF, (operation, role)


def board(world: World, role: str) -> list[str]:
    return [c["case_id"] for c in world.get(role, "/v1/cases", limit=100).json()["cases"]]


def test_a_department_token_sees_the_cases_its_department_is_involved_in(world: World) -> None:
    assert board(world, "hotline") == board(world, "hotline-manager") == [HOTLINE_CASE]
    assert board(world, "card_centre") == board(world, "card_centre-manager") == [CARD_CASE]
    assert {CARD_CASE, REPAIR_CASE, HOTLINE_CASE} <= set(board(world, "ops"))
    assert world.get("hotline", f"/v1/cases/{HOTLINE_CASE}").status_code == 200
    assert world.get("hotline", f"/v1/cases/{REPAIR_CASE}").status_code == 404  # took a call, never held it
    assert world.get("hotline", "/v1/cases/CASE-NOPE").json()["title"] == \
        world.get("hotline", f"/v1/cases/{CARD_CASE}").json()["title"] == "Case not found"
    inbox = world.get("hotline-manager", "/v1/departments/hotline/inbox").json()
    assert [i["case"]["case_id"] for i in inbox["held_open"]["items"]] == [HOTLINE_CASE]


def test_a_department_token_sees_the_customers_it_touched_with_others_notes_masked(world: World) -> None:
    repair = world.customers[REPAIR_CUSTOMER]
    assert world.client.post("/v1/customers/lookup", json={"identifier": REPAIR_CUSTOMER},
                             headers=headers("hotline")).json()["customer_id"] == repair
    seen = world.get("hotline", f"/v1/customers/{repair}/timeline", limit=100).json()["entries"]
    full = world.get("ops", f"/v1/customers/{repair}/timeline", limit=100).json()["entries"]
    assert [e["event_id"] for e in seen] == [e["event_id"] for e in full]
    for mine, theirs in zip(seen, full, strict=True):
        if mine["department"] == "hotline":
            assert mine["summary"] == theirs["summary"] and "masked" not in mine["summary"]
        else:
            assert mine["summary"] == f"[masked: {mine['department']} note]" != theirs["summary"]
    assert {e["department"] for e in seen} >= {"hotline", "repair", "web"}
    card = world.get("hotline", f"/v1/customers/{repair}/card").json()
    assert {i["summary"] for i in card["recent_interactions"] if i["department"] == "repair"} == {
        "[masked: repair note]"}
    assert [c["subject"] for c in card["open_cases"] if c["case_id"] == HOTLINE_CASE] != ["[masked: hotline note]"]
    card_customer = world.customers[CARD_CUSTOMER]
    assert world.get("hotline", f"/v1/customers/{card_customer}/card").status_code == 404
    unknown, untouched = (world.get("hotline", f"/v1/customers/{c}/card").json() for c in ("C-NOBODY", card_customer))
    same = ("type", "title", "status")  # an untouched customer answers as an unknown one
    assert [unknown[k] for k in same] == [untouched[k] for k in same] == ["about:blank", "Customer not found", 404]


def test_alerts_are_read_and_acknowledged_within_the_department(world: World) -> None:
    alerts = world.get("card_centre", "/v1/alerts", limit=500).json()["alerts"]
    assert alerts and {a["department"] for a in alerts} == {"card_centre"}
    assert world.get("hotline", "/v1/alerts", department="card_centre").json()["alerts"] == []
    assert all(a["department"] == "hotline" for a in world.get("hotline", "/v1/alerts").json()["alerts"])
    promises = world.get("hotline", "/v1/promises").json()["promises"]
    assert all(p["department"] == "hotline" for p in promises)
    url, body = f"/v1/alerts/{world.open_alert}/ack", {"acknowledged_by": "王经理"}
    assert world.client.post(url, json=body, headers=headers("card_centre")).status_code == 403
    assert world.client.post(url, json=body, headers=headers("hotline-manager")).status_code == 404
    assert world.client.post(url, json=body, headers=headers("card_centre-manager")).status_code == 201
