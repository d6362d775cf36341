"""Contact-quality rules on small stories: the proactive threshold day, FCR windows, repeat contacts that follow
the resolved customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import CustomerRef, Envelope
from domain.identity.segments import SegmentRule
from domain.quality.fcr import FcrConfig, Outcome
from domain.quality.proactive import ProactiveConfig, Rhythm
from projections.contacts.memory import MemoryContactsStore
from projections.contacts.queries import QualitySettings, QualityViews
from projections.customers.memory import MemoryCustomerStore
from tests.support.builders import make_event, recorded
from tests.support.quality_contacts_data import PROTECTOR

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = (SegmentRule("key_account", declared=frozenset({"key_account"})), SegmentRule("regular"))
SETTINGS = QualitySettings(segments=RULES, proactive=ProactiveConfig((("key_account", Rhythm(3.0, 30)),)))
KEY, REGULAR = CustomerRef(phone="13900000001"), CustomerRef(phone="13900000002")


def call(at: datetime, who: CustomerRef, direction: str = "outbound", case_id: str | None = None) -> Envelope:
    return make_event("call.received", occurred_at=at, department="accounts", channel="phone", customer=who,
                      case_id=case_id, agent="am-01", payload={"direction": direction, "answered_by": "agent"})


def opened(at: datetime, who: CustomerRef, case_id: str, segment: str | None = None) -> Envelope:
    return make_event("case.opened", occurred_at=at, department="hotline", channel="phone", customer=who,
                      case_id=case_id, agent="hl-01", payload={"segment": segment})


def resolved(at: datetime, who: CustomerRef, case_id: str) -> Envelope:
    return make_event("case.resolved", occurred_at=at, department="hotline", channel="internal", customer=who,
                      case_id=case_id, agent="hl-01")


def rhythm(who: CustomerRef, segment: str | None, case_id: str) -> list[Envelope]:
    """Calls every 14 days (median gap 14 days: a threshold of max(3 × 14, 30) = 42 days), the last at T0 + 28."""
    return [call(T0, who), opened(T0 + timedelta(hours=1), who, case_id, segment),
            resolved(T0 + timedelta(hours=2), who, case_id), call(T0 + 14 * DAY, who), call(T0 + 28 * DAY, who)]


def views(events: list[Envelope], now: datetime, settings: QualitySettings = SETTINGS,
          resolved_customers: bool = True) -> QualityViews:
    log = recorded(events)
    store, customers = MemoryContactsStore(), MemoryCustomerStore()
    store.apply(log)
    customers.apply(log)

    def resolve(anchor: str) -> str:
        return (customers.resolve(anchor) or anchor) if resolved_customers else anchor

    return QualityViews(store, resolve, now, settings)


def story() -> list[Envelope]:
    return [*rhythm(KEY, "key_account", "KA-1"), *rhythm(REGULAR, None, "RG-1")]


def test_a_silent_key_account_is_flagged_on_the_day_its_silence_crosses_the_threshold_and_not_before() -> None:
    crossing = T0 + 28 * DAY + 42 * DAY

    before = views(story(), crossing - DAY).proactive()
    on_the_day = views(story(), crossing).proactive()

    assert before == []
    assert [(d.segment, d.due_at, d.owner, d.median_gap_days, d.silence_days) for d in on_the_day] == [
        ("key_account", crossing, "hl-01", 14.0, 42.0)]
    assert [f.occurred_us for f in on_the_day[0].last_contacts] == sorted(
        (f.occurred_us for f in on_the_day[0].last_contacts), reverse=True)


def test_a_regular_customer_with_the_same_silence_is_not_flagged() -> None:
    found = views(story(), T0 + 200 * DAY).proactive()

    assert [d.segment for d in found] == ["key_account"]


def test_a_new_contact_clears_the_flag() -> None:
    crossing = T0 + 70 * DAY
    events = [*story(), call(crossing + DAY, KEY, direction="inbound")]

    assert len(views(events, crossing).proactive()) == 1
    assert views(events, crossing + DAY).proactive() == []


def test_the_minimum_silence_holds_for_customers_who_call_often() -> None:
    often = [call(T0, KEY), opened(T0 + timedelta(hours=1), KEY, "KA-2", "key_account"),
             *(call(T0 + n * DAY, KEY) for n in range(1, 5))]  # median gap 1 day: 3 days < 30 days minimum

    assert views(often, T0 + 4 * DAY + 29 * DAY).proactive() == []
    assert len(views(often, T0 + 4 * DAY + 30 * DAY).proactive()) == 1


def fcr_story(repeat_at: timedelta, repeat_by: CustomerRef) -> list[Envelope]:
    both = PROTECTOR.protect(CustomerRef(phone="13900000009", national_id="310104198806150001"))
    phone = CustomerRef(phone="13900000009")
    return [call(T0 - 30 * DAY, both, direction="inbound"), call(T0, phone, direction="inbound"),
            opened(T0 + 5 * timedelta(minutes=1), phone, "C-1"), resolved(T0 + timedelta(minutes=20), phone, "C-1"),
            make_event("frontdesk.visit_checked_in", occurred_at=T0 + repeat_at, department="reception",
                       channel="front_desk", customer=repeat_by)]


def outcome(events: list[Envelope], now: datetime, resolved_customers: bool = True) -> tuple[Outcome, str | None]:
    case = next(c for c in views(events, now, resolved_customers=resolved_customers).fcr().cases if c.case_id == "C-1")
    return case.outcome, case.reason


def test_a_visit_under_another_identifier_of_the_same_customer_is_a_repeat_contact() -> None:
    both = PROTECTOR.protect(CustomerRef(phone="13900000009", national_id="310104198806150001"))
    national_only = CustomerRef(national_id_digest=both.national_id_digest)

    assert outcome(fcr_story(3 * DAY, both), T0 + 30 * DAY) == (Outcome.NOT_FCR, "repeat_contact")
    assert outcome(fcr_story(3 * DAY, national_only), T0 + 30 * DAY) == (Outcome.NOT_FCR, "repeat_contact")
    assert outcome(fcr_story(3 * DAY, national_only), T0 + 30 * DAY, resolved_customers=False) == (Outcome.FCR, None)


def test_fcr_is_pending_until_the_window_closes_and_a_later_contact_does_not_undo_it() -> None:
    events = fcr_story(9 * DAY, CustomerRef(phone="13900000009"))
    resolved_at = T0 + timedelta(minutes=20)

    assert outcome(events, resolved_at + 7 * DAY - timedelta(seconds=1)) == (Outcome.PENDING, None)
    assert outcome(events, resolved_at + 7 * DAY) == (Outcome.FCR, None)
    assert outcome(events, T0 + 30 * DAY) == (Outcome.FCR, None)


def test_the_window_is_configurable() -> None:
    events = fcr_story(9 * DAY, CustomerRef(phone="13900000009"))
    longer = QualitySettings(segments=RULES, fcr=FcrConfig(window_days=10))

    found = views(events, T0 + 30 * DAY, longer).fcr().cases

    assert [(c.outcome, c.reason) for c in found] == [(Outcome.NOT_FCR, "repeat_contact")]
