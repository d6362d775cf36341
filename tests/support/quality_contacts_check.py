"""Checks of the contact-quality views against the generated data set's known answers (shared by the unit and
contract tests, so the memory and SQL stores are held to the same answers)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from domain.log import RecordedEvent
from projections.cases.memory import MemoryCasesStore
from projections.cases.queries import HandoffQuery
from projections.contacts.queries import ContactFactsReader, QualitySettings, QualityViews
from projections.customers.memory import MemoryCustomerStore
from tests.support.quality_contacts_data import CALENDAR, NOW, RULES, Dataset

SETTINGS = QualitySettings(segments=RULES)


def views(reader: ContactFactsReader, events: list[RecordedEvent], now: datetime = NOW) -> QualityViews:
    """The views over `reader` at `now`, with identities resolved by the customers projection of `events`."""
    customers = MemoryCustomerStore()
    customers.apply(events)
    return QualityViews(reader, lambda anchor: customers.resolve(anchor) or anchor, now, SETTINGS)


def check_all(found: QualityViews, data: Dataset, events: list[RecordedEvent]) -> None:
    expected = data.expected
    report = found.fcr()
    assert {c.case_id: (c.outcome.value, c.reason) for c in report.cases} == expected.fcr
    for by, rows in (("department", report.by_department), ("channel", report.by_channel),
                     ("agent", report.by_agent)):
        assert {r.key: (r.fcr, r.not_fcr, r.pending) for r in rows} == expected.rates(by)
    due = {d.customer_id: (d.due_at, d.owner, tuple(f.event_id for f in d.last_contacts)) for d in found.proactive()}
    assert due == expected.proactive
    assert {s.name: set(s.customers) for s in found.segments()} == dict(expected.segments)
    cases = MemoryCasesStore()
    cases.apply(events)
    ranked = found.touchpoints(cases.handoffs(HandoffQuery()), lambda _department: CALENDAR)
    assert {(t.touchpoint.channel, t.touchpoint.department, t.touchpoint.step): (t.volume, dict(t.signals))
            for t in ranked} == {k: (v, dict(+s)) for k, (v, s) in expected.touchpoints.items()}
    assert [t.rate for t in ranked] == sorted((t.rate for t in ranked), reverse=True)
    staff = found.staff()
    assert [_plain(r) for r in staff.agents] == [s.row(k) for k, s in sorted(expected.agents.items())]
    assert [_plain(r) for r in staff.departments] == [s.row(k) for k, s in sorted(expected.departments.items())]


def _plain(row: Any) -> dict[str, Any]:
    return asdict(row)
