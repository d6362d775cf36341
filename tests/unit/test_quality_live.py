"""The live quality index answers as `QualityViews` does from all the facts, for every `now` at or after the latest
fact: whatever the batches, with identities changing between batches, and asked at instants going forward and back."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.identity.segments import SegmentRule
from domain.instants import DAY_US, epoch_us, from_epoch_us
from domain.log import RecordedEvent
from domain.quality.cases import CaseFacts
from domain.quality.facts import HOUR_US, Fact
from domain.quality.fcr import FcrConfig, Outcome, outcome_of, settle
from domain.quality.live import LiveQuality, Sorted
from domain.quality.proactive import ProactiveConfig, Rhythm
from projections.cases.memory import MemoryCasesStore
from projections.cases.queries import HandoffQuery
from projections.contacts.memory import MemoryContactsStore
from projections.contacts.queries import QualitySettings, QualityViews, handoff_signals
from projections.customers.memory import MemoryCustomerStore
from tests.support.quality_contacts_data import CALENDAR, generate

RULES = (SegmentRule("key_account", declared=frozenset({"key_account"})),
         SegmentRule("new", first_contact_within_days=30), SegmentRule("busy", min_contacts_365d=4),
         SegmentRule("regular"))
PROACTIVE = ProactiveConfig((("key_account", Rhythm(3.0, 30, 2)), ("busy", Rhythm(2.0, 10, 2)),
                             ("key_account", Rhythm(9.0, 90, 5))))
SETTINGS = QualitySettings(FcrConfig(window_days=7, resolve_within_hours=24), PROACTIVE, RULES)


def _identities(events: list[RecordedEvent], anchors: set[str]) -> dict[str, str]:
    customers = MemoryCustomerStore()
    customers.apply(events)
    return {a: c for a in sorted(anchors) if (c := customers.resolve(a)) is not None}


def _live(events: list[RecordedEvent], facts: list[Fact], rng: random.Random) -> LiveQuality:
    """Facts added in random batches, identities reassigned after some of them as the log so far has them."""
    live = LiveQuality(SETTINGS.fcr, SETTINGS.proactive, SETTINGS.segments)
    anchors = {f.anchor for f in facts if f.anchor is not None}
    index = 0
    while index < len(facts):
        step = rng.randint(1, 60)
        live.add(facts[index:index + step])
        index += step
        if rng.random() < 0.3:
            reached = facts[index - 1].position
            live.reassign(_identities([e for e in events if e.position <= reached], anchors))
    live.reassign(_identities(events, anchors))
    return live


def _reference(store: MemoryContactsStore, events: list[RecordedEvent], now: datetime) -> QualityViews:
    identities = _identities(events, {f.anchor for f in store.facts() if f.anchor is not None})
    return QualityViews(store, lambda anchor: identities.get(anchor, anchor), now, SETTINGS)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_live_index_equals_the_views_over_all_facts(seed: int) -> None:
    events = generate(cases=150, key_accounts=10, seed=seed).recorded()
    store = MemoryContactsStore()
    store.apply(events)
    facts = store.facts()
    live = _live(events, facts, random.Random(seed))
    handoffs = MemoryCasesStore()
    handoffs.apply(events)
    assert live.position == facts[-1].position
    latest = from_epoch_us(live.latest_us)
    offsets = [0, 1, 3, 8, 31, 45, 400, 2, 0, 200, 366, 5]  # days after the latest fact, forward and back
    dues = sorted(f.due_us for f in facts if f.due_us is not None and f.due_us >= live.latest_us)[:2]
    instants = [latest + timedelta(days=days, microseconds=days) for days in offsets]
    for now in [*instants, *(from_epoch_us(due) for due in dues)]:  # also at a promise's due instant
        now_us = epoch_us(now)
        expected = _reference(store, events, now)
        report = expected.fcr()
        assert live.rates(now_us, "department") == list(report.by_department)
        assert live.rates(now_us, "channel") == list(report.by_channel)
        assert live.rates(now_us, "agent") == list(report.by_agent)
        assert live.outcomes(now_us) == list(report.cases)
        staff = expected.staff()
        assert live.staff(now_us, "agent") == list(staff.agents)
        assert live.staff(now_us, "department") == list(staff.departments)
        assert live.segments(now) == expected.segments()
        assert live.proactive(now) == expected.proactive()
        rows = handoffs.handoffs(HandoffQuery())
        ranked = expected.touchpoints(rows, lambda _department: CALENDAR, 4)
        signals = handoff_signals(rows, now, lambda _department: CALENDAR, SETTINGS.handoff_target)
        assert live.touchpoints(signals, 4) == ranked
        department = sorted({c.department for c in report.cases})[0]
        mine = [c for c in report.cases if c.department == department]
        assert live.outcomes(now_us, department) == mine
        assert sum(r.fcr + r.not_fcr + r.pending for r in live.rates(now_us, "channel", department)) == len(mine)
        assert live.touched_by(department) == {expected._resolve(f.anchor) for f in expected.facts  # noqa: SLF001
                                               if f.department == department and f.anchor is not None}
    assert any(live.proactive(latest + timedelta(days=d)) for d in offsets)
    kinds = {k for t in ranked for k, _ in t.signals}
    assert {"repeat_contact", "breach", "ping_pong"} <= kinds and any(t.examples for t in ranked)
    assert {s.name for d in offsets for s in live.segments(latest + timedelta(days=d))} >= {"key_account", "regular"}


def _case(opened: int, resolved: int | None, handoffs: list[int], reopens: list[int]) -> CaseFacts:
    return CaseFacts("c", "k", opened, "hotline", "d", "a", resolved,
                     handoffs=[(at, "d", "e") for at in handoffs], reopened_us=reopens)


def _contact(at: int) -> Fact:
    return Fact(1, "e", "call.received", at, "k", None, "hotline", "d", "a", 1)


hours = st.integers(0, 40 * 24).map(lambda h: h * HOUR_US)


@settings(max_examples=400, deadline=None)
@given(hours, st.none() | hours, st.lists(hours, max_size=2), st.lists(hours, max_size=2), st.lists(hours, max_size=3),
       st.integers(0, 60 * 24).map(lambda h: h * HOUR_US), st.integers(0, 10), st.integers(0, 48))
def test_a_settlement_is_the_outcome_at_every_instant_past_the_facts(
        opened: int, resolved: int | None, handoffs: list[int], reopens: list[int], contacts: list[int],
        after: int, window: int, within: int) -> None:
    config = FcrConfig(window_days=window, resolve_within_hours=within)
    case = _case(opened, None if resolved is None else opened + resolved, [opened + h for h in handoffs],
                 [opened + r for r in reopens])
    repeats = sorted((_contact(opened + c) for c in contacts if c > 0), key=lambda f: f.occurred_us)
    last = max([case.opened_us, case.resolved_us or 0, *(h for h, _, _ in case.handoffs), *case.reopened_us,
                *(r.occurred_us for r in repeats)])
    settlement = settle(case, repeats[0].occurred_us if repeats else None, config)
    for now in (last, last + after, last + after + config.window_days * DAY_US + 1):
        until = (case.resolved_us if case.resolved_us is not None else now) + config.window_days * DAY_US
        expected = outcome_of(case, [r for r in repeats if r.occurred_us <= until], now, config).outcome
        assert settlement.at(now) == expected
    assert settlement.outcome in (Outcome.FCR, Outcome.NOT_FCR)


def test_facts_already_added_are_skipped() -> None:
    events = generate(cases=20, key_accounts=2, seed=5).recorded()
    store = MemoryContactsStore()
    store.apply(events)
    facts = store.facts()
    once = LiveQuality(SETTINGS.fcr, SETTINGS.proactive, SETTINGS.segments)
    once.add(facts)
    twice = LiveQuality(SETTINGS.fcr, SETTINGS.proactive, SETTINGS.segments)
    twice.add(facts[: len(facts) // 2])
    twice.add(facts)
    twice.add([replace(f, occurred_us=f.occurred_us + DAY_US) for f in facts[:10]])
    now = once.latest_us + DAY_US
    assert twice.rates(now, "department") == once.rates(now, "department")
    assert twice.staff(now, "agent") == once.staff(now, "agent")


def test_a_promise_not_kept_is_pending_at_its_due_instant_and_broken_after() -> None:
    due = 10 * DAY_US
    promised = Fact(1, "p", "callback.promised", DAY_US, "k", None, "hotline", "d", "a", 0, "promise-1", due)
    kept_late = Fact(2, "m", "callback.made", due + HOUR_US, "k", None, "hotline", "d", "a", 0, "promise-1")
    other = Fact(3, "q", "callback.promised", 2 * DAY_US, "k", None, "hotline", "d", "b", 0, "promise-2", DAY_US * 3)
    kept = Fact(4, "n", "callback.made", 2 * DAY_US + HOUR_US, "k", None, "hotline", "d", "b", 0, "promise-2")
    live = LiveQuality(SETTINGS.fcr, SETTINGS.proactive, SETTINGS.segments)
    live.add([promised])
    [at_due] = live.staff(due, "agent")
    [after_due] = live.staff(due + 1, "agent")
    assert (at_due.promises_pending, at_due.promises_broken) == (1, 0)
    assert (after_due.promises_pending, after_due.promises_broken) == (0, 1)
    live.add([kept_late, other, kept])
    rows = {r.key: r for r in live.staff(due + HOUR_US, "agent")}
    assert (rows["a"].promises_kept, rows["a"].promises_broken) == (0, 1)
    assert (rows["b"].promises_kept, rows["b"].promises_broken, rows["b"].promises_pending) == (1, 0, 0)
    [department] = live.staff(due + HOUR_US, "department")
    assert (department.promises_kept, department.promises_broken) == (1, 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-50, 50)), max_size=400), st.integers(0, 400))
def test_sorted_values_are_the_multiset_in_order_however_they_came_and_went(steps: list[tuple[bool, int]],
                                                                           ask_at: int) -> None:
    """Values added and removed in any order (more than the 64 kept sorted one by one), asked for at any step."""
    found, expected = Sorted(), list[int]()
    for index, (adding, value) in enumerate(steps):
        if index == ask_at:
            assert found.values == sorted(expected)
        if adding or value not in expected:
            found.add(value)
            expected.append(value)
        else:
            found.remove(value)
            expected.remove(value)
        assert len(found) == len(expected)
    assert found.values == sorted(expected)
