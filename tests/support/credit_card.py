"""The credit-card story (seed 003) as case events, step by step: loan -> card centre -> approval office.

The customer is seen at the loan department's branch desk, which opens the case and hands it to the card centre.
She then calls the card centre three times, telling her story each time: the first call is not linked to the case
(routed by her customer key), the next two are. The card centre hands the case to the approval office, promises
callbacks it does not keep; the approval office accepts only after two weeks and resolves the case.
Times are Shanghai office hours in November 2026 (no public holidays). Event ids are stable across calls.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from contracts import Envelope
from domain.identity.identifiers import IdentifierProtector
from domain.intake import protect
from tests.support.builders import make_event

SHANGHAI = timezone(timedelta(hours=8))
CASE_ID = "CASE-CC-0003"
CUSTOMER = {"customer_number": "C-100023", "phone": "13800138000", "national_id": "310104198806152426"}
PROTECTOR = IdentifierProtector(b"credit-card-story-key")


def at(day: int, hhmm: str) -> datetime:
    """`day` of November 2026 at HH:MM in Shanghai (2 Nov 2026 is a Monday)."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 11, day, hours, minutes, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Step:
    """Events of one moment of the story, and an instant just after them to look at the inboxes."""

    name: str
    events: tuple[Envelope, ...]
    look_at: datetime


def _event(event_type: str, when: datetime, department: str, channel: str, case: bool = True,
           **kwargs: Any) -> Envelope:
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:test:credit-card:{event_type}:{when.isoformat()}")
    event = make_event(event_type, occurred_at=when, department=department, channel=channel, customer=CUSTOMER,
                       case_id=CASE_ID if case else None, event_id=event_id, **kwargs)
    return protect(event, PROTECTOR)


def story() -> list[Step]:
    """The story in six steps."""
    handoff_1 = _event("case.handed_off", at(2, "09:47"), "loan", "front_desk", payload={
        "from_department": "loan", "to_department": "card_centre",
        "reason": "信用卡业务归信用卡中心负责，信贷部无法查询制卡进度",
        "context_summary": "房贷客户；约两个月前经信贷部申请信用卡，至今未收到卡也无通知。身份已核实。"})
    handoff_2 = _event("case.handed_off", at(2, "10:50"), "card_centre", "phone", payload={
        "from_department": "card_centre", "to_department": "approval_office",
        "reason": "信用卡审批统一在上海办理，信用卡中心看不到审批结果",
        "context_summary": "客户已被转接两次，情绪焦急。请查明审批状态；已承诺三个工作日内回电。"})
    return [
        Step("loan opens and hands off", (
            _event("frontdesk.visit_checked_in", at(2, "09:40"), "loan", "front_desk", case=False,
                   payload={"visit_id": "V-CC-1", "purpose": "信用卡两个月未收到", "host_department": "loan"}),
            _event("case.opened", at(2, "09:44"), "loan", "front_desk", payload={
                "case_type": "inquiry", "subject": "信用卡申请两个月未收到", "priority": "normal",
                "description": "经信贷部推荐申请信用卡，两个月未收到卡片，也没有任何通知。"}),
            handoff_1,
        ), at(2, "09:50")),
        Step("first call; card centre accepts and hands on", (
            _event("call.received", at(2, "10:30"), "card_centre", "phone", case=False,
                   payload={"call_id": "call-cc-1", "direction": "inbound", "answered_by": "agent"}),
            _event("case.handoff_accepted", at(2, "10:40"), "card_centre", "phone",
                   payload={"department": "card_centre", "handoff_event_id": str(handoff_1.event_id)}),
            handoff_2,
            _event("callback.promised", at(2, "10:52"), "card_centre", "phone", payload={
                "promise_id": "P-CC-1", "due_at": at(5, "18:00").isoformat(), "reason": "查询审批进度后回电"}),
        ), at(2, "11:00")),
        Step("second call, six days later", (
            _event("call.received", at(9, "14:20"), "card_centre", "phone",
                   payload={"call_id": "call-cc-2", "direction": "inbound", "answered_by": "agent"}),
            _event("case.note_added", at(9, "14:31"), "card_centre", "phone", payload={
                "note": "客户第二次来电，再次讲述经过并第二次提供姓名、电话、身份证号。", "visibility": "internal"}),
            _event("callback.promised", at(9, "14:33"), "card_centre", "phone", payload={
                "promise_id": "P-CC-2", "due_at": at(9, "17:30").isoformat(), "reason": "查询后马上回电"}),
        ), at(9, "15:00")),
        Step("third call: the inquiry becomes a complaint", (
            _event("call.received", at(12, "10:05"), "card_centre", "phone",
                   payload={"call_id": "call-cc-3", "direction": "inbound", "answered_by": "agent"}),
            _event("case.escalated", at(12, "10:18"), "card_centre", "phone", payload={
                "from_type": "inquiry", "to_type": "complaint", "level": 2, "reason": "两次回电承诺均未兑现"}),
        ), at(12, "10:30")),
        Step("approval office accepts, two weeks late", (
            _event("case.handoff_accepted", at(16, "11:00"), "approval_office", "internal",
                   payload={"department": "approval_office", "handoff_event_id": None}),
        ), at(16, "11:30")),
        Step("approval office resolves", (
            _event("case.resolved", at(20, "16:00"), "approval_office", "internal",
                   payload={"resolution": "重新核实后审批通过，新卡已寄出。"}),
        ), at(20, "17:00")),
    ]


def all_events() -> list[Envelope]:
    return [event for step in story() for event in step.events]
