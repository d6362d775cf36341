"""Context-card latency: p50/p99 of one card over many customers, with the read models of a large history in Postgres.

    python -m bench.card                                   # 100,000 customers, 1,000,000 events (several minutes)
    python -m bench.card --customers 10000 --events 100000 --samples 500

The read models (timeline, customers, cases, SLA) are filled by their own stores' `apply`, in log order, in batches,
from a generated history (untimed; kept in the schema, so a second run with --reuse only measures). The history:
each customer calls from a phone, about a third also write from an e-mail address that an agent later links,
a fifth visit the front desk with their national ID card, cases are opened (a third stay open) with callback
promises, complaints and SERVQUAL answers. Then the card of `--samples` random customers is built the way
`GET /v1/customers/{id}/card` builds it (resolve the id, gather, shape), timed one by one, and a tenth of them
again through the HTTP API in process.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from bench import latency
from contracts import EVENT_TYPES, Envelope
from domain.identity.identifiers import IdentifierProtector
from domain.intake import protect
from domain.log import RecordedEvent
from projections.cases.sql import SqlCasesStore
from projections.customers.sql import SqlCustomerStore
from projections.sla.sql import SqlSlaStore
from projections.sqlstore import make_engine
from projections.timeline.sql import SqlTimelineStore
from services.adapters.config import load_identity_config
from services.application.customers import CustomerViews

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
PROTECTOR = IdentifierProtector(b"bench-card-key")
SLA_TYPES = ("case.", "callback.", "sla.")


def history(customers: int, events: int, seed: int) -> Iterator[Envelope]:
    """A deterministic history of about `events` events over `customers` customers, in occurrence order."""
    rng = random.Random(seed)
    per_customer = max(1, events // customers)
    span = (NOW - START).total_seconds()
    plans: list[tuple[float, int, int]] = []  # (offset seconds, customer, step)
    for customer in range(customers):
        offsets = sorted(rng.uniform(0, span) for _ in range(per_customer))
        plans.extend((offset, customer, step) for step, offset in enumerate(offsets))
    plans.sort()
    for offset, customer, step in plans:
        yield _event(rng, customer, step, START + timedelta(seconds=offset))


def _event(rng: random.Random, customer: int, step: int, at: datetime) -> Envelope:
    phone, email = f"139{customer:08d}", f"c{customer}@example.cn"
    national = f"11010519{customer % 90 + 10:02d}0101{customer % 10000:04d}"
    uses_web, visits = customer % 3 == 0, customer % 5 == 0
    case_id = f"C-{customer}-{step // 4}"
    roll = rng.random()
    if step == 0:
        return _make("call.received", at, "hotline", "phone", {"phone": phone})
    if step == 3 and uses_web:
        return _make("identity.identifiers_linked", at, "hotline", "phone", {"phone": phone},
                     payload={"identifiers": [{"kind": "phone", "value": phone}, {"kind": "email", "value": email}],
                              "reason": "confirmed on the call", "verified": True})
    if step % 4 == 1:
        return _make("case.opened", at, "hotline", "phone", {"phone": phone}, case_id=case_id,
                     payload={"segment": "key-account"} if customer % 50 == 0 else {})
    if step % 4 == 2 and roll < 0.5:
        return _make("callback.promised", at, "hotline", "phone", {"phone": phone}, case_id=f"C-{customer}-{step // 4}",
                     payload={"promise_id": f"P-{customer}-{step}", "due_at": (at + timedelta(hours=4)).isoformat()})
    if step % 4 == 3 and roll < 0.66:
        return _make("case.resolved", at, "hotline", "phone", {"phone": phone}, case_id=f"C-{customer}-{step // 4}")
    if roll < 0.08:
        return _make("complaint.filed", at, "hotline", "phone", {"phone": phone})
    if roll < 0.12:
        return _make("survey.servqual_answered", at, "web", "web", {"phone": phone})
    if visits and roll < 0.45:
        return _make("frontdesk.visit_checked_in", at, "frontdesk", "front_desk",
                     {"national_id": national, "phone": phone})
    if uses_web and roll < 0.75:
        return _make("web.request_submitted", at, "web", "web", {"email": email})
    return _make("call.received", at, "hotline", "phone", {"phone": phone})


def _make(event_type: str, at: datetime, department: str, channel: str, customer: dict[str, str],
          case_id: str | None = None, payload: dict[str, Any] | None = None) -> Envelope:
    cls = EVENT_TYPES[(event_type, 1)]
    data = cls.example_data()
    data.update(event_id=str(uuid.uuid4()), occurred_at=at.isoformat(), customer=customer,
                source={"department": department, "channel": channel, "agent": "agent-1"})
    data["payload"] = {**data["payload"], **(payload or {})}
    if case_id is not None:
        data["case_id"] = case_id
    elif not event_type.startswith("case."):
        data.pop("case_id", None)
    if event_type == "callback.promised" and "due_at" not in (payload or {}):
        data["payload"]["due_at"] = (at + timedelta(hours=4)).isoformat()
    return protect(cls.model_validate(data), PROTECTOR)


def fill(url: str, customers: int, events: int, batch: int) -> int:
    return latency.fill(url, history(customers, events, seed=20261125), batch, _apply)


def _apply(stores: dict[str, Any], batch: list[RecordedEvent]) -> None:
    stores["timeline"].apply(batch)
    stores["customers"].apply(batch)
    cases = [r for r in batch if r.event.event_type.startswith("case.")]
    sla = [r for r in batch if r.event.event_type.startswith(SLA_TYPES)]
    if cases:
        stores["cases"].apply(cases)
    if sla:
        stores["sla"].apply(sla)


def measure(url: str, samples: int) -> None:
    engine = make_engine(url, pool_size=4)
    identity = load_identity_config()
    directory = SqlCustomerStore(engine)
    views = CustomerViews(directory, SqlTimelineStore(engine), SqlCasesStore(engine), SqlSlaStore(engine),
                          identity.card)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.exec_driver_sql(
            "select distinct customer_id from customer_nodes where shared = 0")]
    chosen = random.Random(7).sample(ids, min(samples, len(ids)))
    for customer_id in chosen[:50]:  # warm the pool and the planner
        resolved = views.resolve(customer_id)
        assert resolved is not None
        views.card(resolved, NOW)
    timings, contacts, open_cases = [], [], []
    for customer_id in chosen:
        started = time.perf_counter()
        resolved = views.resolve(customer_id)
        assert resolved is not None
        card = views.card(resolved, NOW)
        timings.append((time.perf_counter() - started) * 1000)
        contacts.append(card.recognition.contacts)
        open_cases.append(len(card.open_cases))
    print(f"customers {len(ids):,} (resolved), samples {len(chosen):,}; "
          f"per card: contacts in 90 days mean {statistics.mean(contacts):.1f}, open cases mean "
          f"{statistics.mean(open_cases):.2f}")
    latency.report("card, in process (resolve + gather + shape)", timings)
    _report_http(views, chosen[: max(10, len(chosen) // 10)])
    engine.dispose()


def _report_http(views: CustomerViews, chosen: list[str]) -> None:
    from services.entrypoints.app import build_app

    class Components:
        settings = _settings()
        customers = views

        @staticmethod
        def clock() -> datetime:
            return NOW

    timings = []
    with TestClient(build_app(Components())) as client:
        headers = {"Authorization": "Bearer bench-ops-token"}
        for customer_id in chosen:
            started = time.perf_counter()
            response = client.get(f"/v1/customers/{customer_id}/card", headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    latency.report("card over HTTP (FastAPI in process, JSON)", timings)


def _settings() -> Any:
    from services.adapters.settings import Settings

    return Settings(env="test", bootstrap_tokens="ops=bench-ops-token")


if __name__ == "__main__":
    latency.main(__doc__, "bench_card", 2000, fill, measure)
