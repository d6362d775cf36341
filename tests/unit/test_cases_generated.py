"""5,000 generated cases (fixed seed): the views give exactly the answers the generator wrote down."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from contracts import SlaPolicyPublishedPayload
from domain.cases import fixed_target
from projections.cases import ContactQuery, HandoffQuery
from projections.cases.memory import MemoryCasesStore
from projections.cases.queries import CaseQuery, anomaly_counts
from projections.cases.stats import dropped, matrix, ping_pong, repeat_contacts
from tests.support.builders import recorded
from tests.support.case_api import office_calendars
from tests.support.case_generator import NOW, Generated, generate
from tests.support.replay_data import replay_log

pytestmark = pytest.mark.unit

CALENDARS = office_calendars()
TARGET = fixed_target()


@pytest.fixture(scope="module")
def generated() -> Generated:
    return generate(5000, seed=20261125)


@pytest.fixture(scope="module")
def store(generated: Generated) -> MemoryCasesStore:
    store = MemoryCasesStore()
    events = recorded(generated.events)
    for start in range(0, len(events), 2000):
        store.apply(events[start:start + 2000])
    return store


def test_the_data_set_is_what_the_generator_says(generated: Generated, store: MemoryCasesStore) -> None:
    assert store.count(CaseQuery()) == generated.expected.cases == 5000
    assert len(store.handoffs(HandoffQuery())) == len(generated.expected.handoffs) == 10385
    assert len(generated.events) == store.position() == 33276


def test_the_matrix_has_exactly_the_expected_counts_and_latencies(generated: Generated,
                                                                  store: MemoryCasesStore) -> None:
    pairs = matrix(store.handoffs(HandoffQuery()), NOW, CALENDARS, TARGET)

    found = {(p.from_department, p.to_department): (p.count, p.accepted, p.dropped, p.bounced, p.median_seconds,
                                                    p.p90_seconds) for p in pairs}
    assert found == generated.expected.matrix()
    assert len(found) == 30  # every ordered pair of six departments
    assert all(p.median_business_seconds <= p.median_seconds for p in pairs)  # type: ignore[operator]


def test_ping_pong_cases_are_exactly_the_expected_ones(generated: Generated, store: MemoryCasesStore) -> None:
    loops = ping_pong(store.handoffs(HandoffQuery()))

    assert {case.case_id: case.returns for case in loops.cases} == generated.expected.ping_pong()
    assert len(loops.cases) == 1185
    assert {c.case_id for c in store.cases(CaseQuery(min_returns=1, limit=1000)).cases} <= {
        c.case_id for c in loops.cases}
    assert store.count(CaseQuery(min_returns=1)) == 1185


def test_dropped_handoffs_are_exactly_the_expected_ones(generated: Generated, store: MemoryCasesStore) -> None:
    found = dropped(store.handoffs(HandoffQuery()), NOW, CALENDARS, TARGET)

    assert {(d.row.case_id, d.row.seq) for d in found} == generated.expected.dropped()
    assert len(found) == 3885


def test_repeat_contacts_are_counted_per_case_channel_and_department(generated: Generated,
                                                                    store: MemoryCasesStore) -> None:
    summary = repeat_contacts(store.contacts(ContactQuery()))
    expected = generated.expected

    assert summary.by_case == dict(expected.contacts_by_case)
    assert summary.by_channel == dict(expected.contacts_by_channel)
    assert summary.by_department == dict(expected.contacts_by_department)
    assert summary.total == 5809


def test_the_anomalies_planted_are_counted(generated: Generated, store: MemoryCasesStore) -> None:
    assert anomaly_counts(store.anomalies()) == dict(generated.expected.anomalies)
    assert sum(generated.expected.anomalies.values()) == 67


def test_a_steady_history_opens_as_many_cases_every_four_weeks_and_its_customers_come_back() -> None:
    for cases in (1500, 3000):
        opened = {e.case_id: e for e in generate(cases, seed=3, per_month=500).events if e.event_type == "case.opened"}
        runs = Counter((date(2026, 3, 12) - e.occurred_at.date()).days // 28 for e in opened.values())
        assert runs == dict.fromkeys(range(cases // 500), 500)  # the last run in March 2026, each four weeks before
        customers = {e.customer.customer_number for e in opened.values()}
        assert len(customers) == min(cases, 1000)
        assert opened["GEN-00007"].customer == opened["GEN-01007"].customer != opened["GEN-00008"].customer


def test_the_replay_logs_policy_is_in_force_before_the_first_case_of_a_history() -> None:
    log = replay_log(3000, per_month=100)
    policy, first = log[0].payload, log[1]
    assert isinstance(policy, SlaPolicyPublishedPayload)
    assert first.event_type == "case.opened" and policy.effective_at < first.occurred_at < datetime(2026, 1, 1,
                                                                                                    tzinfo=UTC)
