"""Timeline summaries in both languages: every known shape still matches the line its contract writes today, each
variant has its labels in both catalogues, and a line of unknown shape is shown as recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import EVENT_TYPES
from services.entrypoints.console.i18n import LANGUAGES, Locale, catalogue
from services.entrypoints.console.summaries import SHAPES, shape_of
from tests.support.builders import make_event

pytestmark = pytest.mark.unit
AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
ZH, EN = Locale("zh-CN"), Locale("en")

EXAMPLES: list[tuple[str, dict[str, Any], str]] = [
    ("case.opened", {}, ""),
    ("case.note_added", {"visibility": "internal"}, ""),
    ("case.handed_off", {}, ""),
    ("case.handoff_accepted", {}, ""),
    ("case.waiting_on_customer", {}, ""),
    ("case.customer_responded", {"note": "已补交材料"}, "note"),
    ("case.customer_responded", {"note": None}, ""),
    ("case.escalated", {"level": 2}, "level"),
    ("case.escalated", {"level": None}, ""),
    ("case.resolved", {"first_contact_resolution": True}, "fcr"),
    ("case.resolved", {"first_contact_resolution": False}, ""),
    ("case.reopened", {}, ""),
    ("frontdesk.visit_checked_in", {"host_department": "loan"}, "host"),
    ("frontdesk.visit_checked_in", {"host_department": None}, ""),
    ("frontdesk.visit_checked_out", {"outcome": "办完了"}, "outcome"),
    ("frontdesk.visit_checked_out", {"outcome": None}, ""),
    ("call.received", {"queue": "cards", "answered_by": "agent"}, "queue"),
    ("call.received", {"queue": None, "answered_by": "ivr"}, ""),
    ("call.ended", {"outcome": "follow_up", "transferred_to_department": None}, ""),
    ("call.ended", {"outcome": "transferred", "transferred_to_department": "card_centre",
                    "transferred_from_ivr_to_agent": True}, "to"),
    ("callback.promised", {}, ""),
    ("callback.made", {"outcome": "no_answer"}, ""),
    ("complaint.filed", {}, ""),
    ("compliment.received", {"about_agent": "王芳"}, "about"),
    ("compliment.received", {"about_agent": None}, ""),
    ("referral.made", {"referred_party": "朋友"}, "party"),
    ("referral.made", {"referred_party": None}, ""),
    ("web.request_submitted", {}, ""),
    ("repair.order_opened", {"product": "洗衣机"}, "product"),
    ("repair.order_opened", {"product": None}, ""),
    ("repair.visit_completed", {"notes": "换了主板"}, "notes"),
    ("repair.visit_completed", {"notes": None}, ""),
    ("repair.visit_scheduled", {"window_minutes": 120}, "window"),
    ("repair.visit_scheduled", {"window_minutes": None}, ""),
    ("sla.warning_raised", {}, ""),
    ("sla.breached", {}, ""),
    ("sla.alert_acknowledged", {"note": "已电话联系客户"}, "note"),
    ("sla.alert_acknowledged", {"note": None}, ""),
    ("sla.alert_retracted", {"reason": "阈值前已解决"}, ""),
    ("sla.calendar_gap", {}, ""),
    ("identity.identifiers_linked", {}, ""),
    ("identity.identifiers_unlinked", {}, ""),
    ("survey.servqual_answered", {}, ""),
    ("sale.order_placed", {}, ""),
]


@pytest.mark.parametrize(("event_type", "payload", "variant"), EXAMPLES)
def test_each_shape_matches_what_its_contract_writes(event_type: str, payload: dict[str, Any], variant: str) -> None:
    recorded = make_event(event_type, occurred_at=AT, payload=payload).summary()
    shape = shape_of(event_type, recorded)
    assert shape is not None and shape[0] == variant, recorded
    chinese = ZH.summary(event_type, recorded)
    assert chinese != recorded and "{" not in chinese
    assert not re.search(r"\b(case|call|handed|visitor|resolved|callback|order|survey)\b", chinese, re.I), chinese


def test_every_variant_is_in_both_catalogues_and_every_shape_has_an_example() -> None:
    keys = {f"summary.{t}" + (f".{v}" if v else "") for t, shapes in SHAPES.items() for v, _ in shapes}
    for language in LANGUAGES:
        assert keys <= catalogue(language).keys()
    assert {(t, v) for t, _, v in EXAMPLES} == {(t, v) for t, shapes in SHAPES.items() for v, _ in shapes}


def test_names_are_translated_and_free_text_kept() -> None:
    line = "Handed off from loan to card_centre: 额度审批 needs 2 days"
    assert ZH.summary("case.handed_off", line) == "由信贷部转交至信用卡中心：额度审批 needs 2 days"
    assert EN.summary("case.handed_off", line) == "Handed off from Loan to Card centre: 额度审批 needs 2 days"
    assert ZH.summary("call.received", "Inbound call answered by the IVR") == "呼入电话，由语音导航接听"


def test_an_unknown_shape_or_type_is_shown_as_recorded() -> None:
    assert ZH.summary("case.handed_off", "Something else entirely") == "Something else entirely"
    assert ZH.summary("sla.breached", "Breached: resolution target 8h") == "Breached: resolution target 8h"


def test_every_event_type_a_timeline_can_hold_has_its_shapes() -> None:
    held = {event_type for (event_type, _), model in EVENT_TYPES.items() if model.CONCERNS_A_CUSTOMER}
    assert held - SHAPES.keys() == set()
