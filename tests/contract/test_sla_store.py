"""SLA store contract: one suite, run against the in-memory, SQLite and Postgres implementations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import Envelope, SlaMetric
from domain.log import RecordedEvent
from domain.sla.alerts import acknowledgement, alert_events
from domain.sla.ledger import PromiseStatus
from projections.sla.memory import MemorySlaStore
from projections.sla.queries import AlertQuery, PromiseQuery, SlaStore, ledger
from projections.sla.reducer import AlertState, Severity
from projections.sla.sql import SqlSlaStore
from projections.sqlstore import make_engine, url_with_search_path
from tests.support.builders import make_event
from tests.support.sla import at, policy_event, policy_payload, recorded_from

pytestmark = pytest.mark.contract

NOW = at("2026-11-30", "09:00")


def event(event_type: str, when: str, case_id: str, payload: dict[str, Any], *, department: str = "card_centre",
          agent: str | None = "card-0117", customer: dict[str, str] | None = None) -> Envelope:
    day, hhmm = when.split(" ")
    return make_event(event_type, occurred_at=at(day, hhmm), department=department, channel="web", agent=agent,
                      case_id=case_id, customer=customer or {"phone": "13800138000"}, payload=payload)


def story() -> list[RecordedEvent]:
    """Two cases in two departments, four promises (kept, late, broken, pending), a pause."""
    inquiry = {"case_type": "inquiry", "priority": "normal"}
    return recorded_from([
        policy_event(),
        event("case.opened", "2026-11-23 09:00", "C-1", inquiry, agent=None),
        event("case.opened", "2026-11-23 10:00", "C-2", inquiry, department="loan", agent=None,
              customer={"email": "li@example.cn"}),
        event("callback.promised", "2026-11-23 09:10", "C-1",
              {"promise_id": "P1", "due_at": at("2026-11-23", "12:00").isoformat(), "reason": "r"}),
        event("callback.promised", "2026-11-23 09:20", "C-1",
              {"promise_id": "P2", "due_at": at("2026-11-23", "12:00").isoformat(), "reason": "r"}, agent="card-9"),
        event("callback.promised", "2026-11-23 10:10", "C-2",
              {"promise_id": "P3", "due_at": at("2026-11-24", "12:00").isoformat(), "reason": "r"}, department="loan",
              agent="loan-1", customer={"email": "li@example.cn"}),
        event("callback.promised", "2026-11-23 10:20", "C-2",
              {"promise_id": "P4", "due_at": at("2026-12-04", "12:00").isoformat(), "reason": "r"}, department="loan",
              agent="loan-1", customer={"email": "li@example.cn"}),
        event("callback.made", "2026-11-23 11:00", "C-1", {"promise_id": "P1", "outcome": "reached"}),
        event("callback.made", "2026-11-23 15:00", "C-1", {"promise_id": "P2", "outcome": "reached"}),
        event("case.waiting_on_customer", "2026-11-24 09:00", "C-2", {"reason": "documents"}, department="loan"),
        policy_event(policy_payload(1, rules=[{"name": "dup", "targets": {}}])),  # version 1 again: ignored
    ])


def alerted(store: SlaStore, events: list[RecordedEvent], now: datetime = NOW) -> list[RecordedEvent]:
    """The alert events due by `now`, as the next log positions."""
    due = [e for clock in store.due_clocks(now) for e in alert_events(clock, now)]
    return recorded_from(due, start=events[-1].position + 1)


class SlaStoreContract:
    """What every SlaStore must do; subclasses provide a fresh, created `store`."""

    @pytest.fixture
    def store(self) -> SlaStore:
        raise NotImplementedError

    def test_a_fresh_store_is_empty(self, store: SlaStore) -> None:
        assert store.position() == 0 and store.policies().latest is None
        assert store.alerts(AlertQuery()) == [] and store.due_clocks(NOW) == []
        assert store.case("C-1") is None

    def test_state_matches_the_reference_whatever_the_batches_and_redeliveries(self, store: SlaStore) -> None:
        events = story()
        reference = MemorySlaStore()
        reference.apply(events)
        assert store.apply(events[:4]) == 4
        assert store.apply(list(reversed(events))) == len(events)  # redelivered and unordered
        assert store.apply(events[:3]) == len(events)
        assert store.case("C-1") == reference.case("C-1")
        assert store.case("C-2") == reference.case("C-2")
        assert [p.version for p in store.policies().policies] == [1]

    def test_due_clocks_are_those_with_a_threshold_reached_and_not_alerted(self, store: SlaStore) -> None:
        events = story()
        store.apply(events)
        due = store.due_clocks(NOW)
        reference = MemorySlaStore()
        reference.apply(events)
        assert {c.clock_id for c in due} == {c.clock_id for c in reference.due_clocks(NOW)}
        assert store.due_clocks(at("2026-11-23", "09:00")) == []
        alerts = alerted(store, events)
        store.apply(alerts)
        assert store.due_clocks(NOW) == []
        assert len(store.alerts(AlertQuery(limit=500))) == len(alerts)

    def test_alerts_filter_by_state_department_severity_and_case_newest_first(self, store: SlaStore) -> None:
        events = story()
        store.apply(events)
        alerts = alerted(store, events)
        store.apply(alerts)
        everything = store.alerts(AlertQuery(limit=500))
        assert [a.occurred_at for a in everything] == sorted((a.occurred_at for a in everything), reverse=True)
        loan = store.alerts(AlertQuery(department="loan", limit=500))
        assert loan and all(a.department == "loan" for a in loan)
        breaches = store.alerts(AlertQuery(severity=Severity.CRITICAL, case_id="C-1", limit=500))
        assert breaches and all(a.kind == "breach" and a.case_id == "C-1" for a in breaches)
        assert len(store.alerts(AlertQuery(limit=2))) == 2
        first = breaches[0]
        ack = acknowledgement(first.alert_id, "C-1", "王经理", "on it", "ops", NOW)  # type: ignore[arg-type]
        store.apply(recorded_from([ack], start=alerts[-1].position + 1))
        [acked] = store.alerts(AlertQuery(state=AlertState.ACKNOWLEDGED))
        assert (acked.alert_id, acked.acknowledged_by, acked.note) == (first.alert_id, "王经理", "on it")
        assert store.alert(first.alert_id) == acked
        resolved = store.alerts(AlertQuery(state=AlertState.RESOLVED, limit=500))  # clocks stopped after alerting
        assert resolved and all(a.resolved_at is not None and a.resolved_at > a.occurred_at for a in resolved)
        still_open = store.alerts(AlertQuery(state=AlertState.OPEN, limit=500))
        assert len(still_open) + len(resolved) == len(alerts) - 1

    def test_promise_statuses_and_ledger_are_computed_for_the_given_now(self, store: SlaStore) -> None:
        store.apply(story())
        status = {p.promise_id: p.status(NOW) for p in store.promises(PromiseQuery(), NOW)}
        assert status == {"P1": PromiseStatus.KEPT_ON_TIME, "P2": PromiseStatus.KEPT_LATE,
                          "P3": PromiseStatus.BROKEN, "P4": PromiseStatus.PENDING}
        earlier = at("2026-11-24", "11:00")
        assert [p.promise_id for p in store.promises(PromiseQuery(status=PromiseStatus.PENDING), earlier)] == [
            "P4", "P3"]
        assert [p.promise_id for p in store.promises(PromiseQuery(status=PromiseStatus.BROKEN), NOW)] == ["P3"]
        assert [p.promise_id for p in store.promises(PromiseQuery(agent="card-9"), NOW)] == ["P2"]
        everything = store.promises(PromiseQuery(), NOW)
        for by in ("agent", "department", "customer"):
            assert store.promise_summary(by, PromiseQuery(), NOW) == ledger(everything, by, NOW)
        [loan] = store.promise_summary("department", PromiseQuery(department="loan"), NOW)
        assert (loan.key, loan.counts["broken"], loan.counts["pending"], loan.total) == ("loan", 1, 1, 2)

    def test_the_clock_paused_while_waiting_is_stored_with_its_pause(self, store: SlaStore) -> None:
        store.apply(story())
        case = store.case("C-2")
        assert case is not None and case.customer_id is not None
        [resolution] = [c for c in case.clocks if c.metric is SlaMetric.RESOLUTION]
        assert resolution.is_paused and resolution.pauses[0].started_at == at("2026-11-24", "09:00")

    def test_equal_content_gives_the_reference_checksum_whatever_the_batches(self, store: SlaStore) -> None:
        events = story()
        reference = MemorySlaStore()
        assert store.checksum() == reference.checksum()
        reference.apply(events)
        reference.apply(alerted(reference, events))
        store.apply(events[:3])
        store.apply(list(reversed(events)))
        store.apply(alerted(store, events))
        assert store.checksum() == reference.checksum()
        before = store.checksum()
        store.reset()
        store.apply(events)
        assert store.checksum() != before
        store.apply(alerted(store, events))
        assert store.checksum() == before

    def test_retractions_and_resolutions_give_the_reference_state_batch_by_batch(self, store: SlaStore) -> None:
        """Alerts, then a late resolution disproving some of them, then their retractions: the store, fed in
        small batches, ends with the reference's alert states and checksum (rebuild == live)."""
        events = story()
        store.apply(events)
        log = events + alerted(store, events)
        store.apply(log[len(events):])
        late = event("case.resolved", "2026-11-23 09:30", "C-1", {"resolution": "done"})
        log += recorded_from([late], start=log[-1].position + 1)
        store.apply(log[-1:])
        retractions = [e for c in store.due_clocks(NOW) for e in alert_events(c, NOW)]
        assert retractions and {e.event_type for e in retractions} == {"sla.alert_retracted"}
        log += recorded_from(retractions, start=log[-1].position + 1)
        for start in range(len(log) - len(retractions), len(log), 2):
            store.apply(log[start:start + 2])
        assert store.due_clocks(NOW) == []
        reference = MemorySlaStore()
        reference.apply(log)
        assert store.checksum() == reference.checksum()
        states = {a.alert_id: a.state for a in store.alerts(AlertQuery(case_id="C-1", limit=500))}
        retracted = {str(e.payload.alert_id) for e in retractions}  # type: ignore[attr-defined]
        assert {k for k, v in states.items() if v is AlertState.RETRACTED} == retracted
        assert AlertState.OPEN not in set(states.values())  # every other alert of C-1 is resolved
        if isinstance(store, SqlSlaStore):  # a rebuild holding the state in memory, then going on batch by batch
            for max_held in (200_000, 1):
                store.reset()
                rebuild = store.rebuilding(max_held)
                for start in range(0, len(log), 7):
                    rebuild.apply(log[start:start + 7])
                    rebuild.flush()
                assert store.checksum() == reference.checksum()

    def test_reset_forgets_everything(self, store: SlaStore) -> None:
        store.apply(story())
        store.reset()
        assert store.position() == 0 and store.case("C-1") is None and store.policies().latest is None
        assert store.promises(PromiseQuery(), NOW) == []


class TestMemorySlaStore(SlaStoreContract):
    @pytest.fixture
    def store(self) -> SlaStore:
        return MemorySlaStore()


class TestSqliteSlaStore(SlaStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SlaStore]:
        engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
        store = SqlSlaStore(engine)
        store.create()
        yield store
        engine.dispose()


class TestPostgresSlaStore(SlaStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str, pg_schema: str) -> Iterator[SlaStore]:
        engine = make_engine(url_with_search_path(postgres_url, pg_schema))
        store = SqlSlaStore(engine)
        store.create()
        yield store
        engine.dispose()


def test_a_store_that_knows_a_policy_from_its_cache_still_writes_it_after_a_reset_elsewhere(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
    live, rebuilder = SqlSlaStore(engine), SqlSlaStore(engine)
    live.create()
    events = story()
    live.apply(events)
    rebuilder.reset()  # another process rebuilds: rows gone, `live` still remembers policy v1
    live.apply(events)
    fresh = SqlSlaStore(engine)
    assert [p.version for p in fresh.policies().policies] == [1]
    assert fresh.case("C-1") == live.case("C-1") is not None
    engine.dispose()
