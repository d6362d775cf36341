"""The quality measures served from the live index equal those computed from all the facts, on every backend: the
index catches up batch by batch from the contacts store (`facts_after`) and follows identities through the
customers store (`resolve_many`, `identity_changes`), for all departments and for a manager's one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from contracts import CustomerRef
from domain.identity.identifiers import customer_key
from domain.instants import from_epoch_us
from domain.intake import protect
from domain.log import RecordedEvent
from projections.cases.memory import MemoryCasesStore
from projections.contacts.memory import MemoryContactsStore
from projections.contacts.sql import SqlContactsStore
from projections.customers.memory import MemoryCustomerStore
from projections.customers.sql import SqlCustomerStore
from projections.servqual.memory import MemoryServqualStore
from projections.sqlstore import make_engine, url_with_search_path
from services.application.cases import CaseViews, build_case_views
from services.application.quality import Quality, QualityStores, quality_stores
from tests.support.builders import make_event, recorded
from tests.support.quality_contacts_data import PROTECTOR, RULES, generate

pytestmark = pytest.mark.contract

DATA = generate(cases=90, key_accounts=6, seed=8)


def _history() -> list[RecordedEvent]:
    """The generated log with, two thirds in, an agent linking pairs of people already met (so identities move
    after the index has resolved them)."""
    events = list(DATA.events)
    cut = len(events) * 2 // 3
    links = [protect(make_event("identity.identifiers_linked", occurred_at=events[cut].occurred_at, payload={
        "identifiers": [{"kind": "phone", "value": f"139{a:08d}"}, {"kind": "phone", "value": f"139{b:08d}"}],
        "reason": "same person", "verified": True}), PROTECTOR) for a, b in ((1, 2), (3, 5), (4, 7))]
    return recorded(events[:cut] + links + events[cut:])


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Contacts and customers stores on the backend (the other quality stores are not read here)."""
    engines: list[Engine] = []
    if request.param == "memory":
        found: dict[str, Any] = {"contacts": MemoryContactsStore(), "customers": MemoryCustomerStore()}
    else:
        if request.param == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
        else:
            url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
            engine = make_engine(url_with_search_path(url, schema))
        engines.append(engine)
        found = {"contacts": SqlContactsStore(engine), "customers": SqlCustomerStore(engine)}
        for store in found.values():
            store.create()
    found |= {"servqual": MemoryServqualStore(), "scorecard": None}
    yield found
    for engine in engines:
        engine.dispose()


def _answers(stores: QualityStores, cases: CaseViews, customers: Any, scope: str | None, now: Any
             ) -> tuple[Any, ...]:
    """Each measure asked of a Quality of its own, as each request has."""
    def quality() -> Quality:
        return Quality(stores, cases, customers, scope)

    return (quality().fcr(now), quality().fcr(now, with_cases=False).by_agent, quality().proactive(now),
            quality().segments(now), quality().staff(now), quality().touchpoints(now, 3))


def test_the_live_index_answers_as_all_the_facts_do(stores: dict[str, Any]) -> None:
    events = _history()
    cases = build_case_views(MemoryCasesStore(), 4.0)  # handoffs: the cases store is fed below
    live = quality_stores(stores, RULES)
    computed = replace(live, live=None)
    assert live.live is not None
    departments = sorted({e.event.source.department for e in events})
    rng, start, compared = random.Random(8), 0, 0
    while start < len(events):
        size = rng.randint(20, 120)
        for store in (stores["contacts"], stores["customers"], cases.store):
            store.apply(events[start : start + size])
        start += size
        latest = max(f.occurred_us for f in stores["contacts"].facts())
        for days in (0, 2, 9):
            now = from_epoch_us(latest) + timedelta(days=days)
            for scope in (None, departments[0]):
                served = _answers(live, cases, stores["customers"], scope, now)
                assert served == _answers(computed, cases, stores["customers"], scope, now)
                compared += 1
        with live.live.caught_up() as index:
            assert not stores["contacts"].facts_after(index.position, 1)
    earlier = from_epoch_us(latest) - timedelta(days=3)  # before the latest fact: computed from the facts
    assert _answers(live, cases, stores["customers"], None, earlier) == _answers(
        computed, cases, stores["customers"], None, earlier)
    assert compared > 10
    merged = {stores["customers"].resolve(customer_key(CustomerRef(phone=f"139{n:08d}"))) for n in (1, 2)}
    assert len(merged) == 1 and None not in merged  # the link joined two people the index had met apart


def test_the_index_is_built_in_the_background_and_a_stop_waits_for_it(stores: dict[str, Any]) -> None:
    events = _history()
    for name in ("contacts", "customers"):
        stores[name].apply(events)
    index = quality_stores(stores, RULES).live
    assert index is not None
    index.start_warming()
    index.stop()
    with index.caught_up() as live:
        assert live.position == stores["contacts"].facts()[-1].position


def test_a_build_that_fails_at_start_is_tried_again_by_the_first_answer(caplog: pytest.LogCaptureFixture) -> None:
    contacts, customers = MemoryContactsStore(), MemoryCustomerStore()
    events = _history()
    contacts.apply(events)
    customers.apply(events)
    failing = {"contacts": _Failing(contacts), "customers": customers, "servqual": MemoryServqualStore(),
               "scorecard": None}
    index = quality_stores(failing, RULES).live
    assert index is not None
    index.start_warming()
    index.stop()
    assert "could not be built at start" in caplog.text
    with index.caught_up() as live:
        assert live.position == contacts.facts()[-1].position


class _Failing:
    """A contacts store whose first read fails (a database not reachable yet)."""

    def __init__(self, store: MemoryContactsStore) -> None:
        self._store, self._failed = store, False

    def facts(self, until: Any = None) -> Any:
        return self._store.facts(until)

    def facts_after(self, position: int, limit: int) -> Any:
        if not self._failed:
            self._failed = True
            raise ConnectionError("not reachable yet")
        return self._store.facts_after(position, limit)
