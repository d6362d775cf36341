"""Demo events drawn from the seed stories: four customers' journeys across channels and departments."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

from contracts import (
    CallbackPromised,
    CallEnded,
    CallReceived,
    CaseEscalated,
    CaseHandedOff,
    CaseHandoffAccepted,
    CaseNoteAdded,
    CaseOpened,
    CaseResolved,
    ComplaintFiled,
    ComplimentReceived,
    Envelope,
    FrontdeskVisitCheckedIn,
    FrontdeskVisitCheckedOut,
    IdentityIdentifiersLinked,
    ReferralMade,
    RepairOrderOpened,
    RepairVisitCompleted,
    RepairVisitScheduled,
    SurveyServqualAnswered,
    WebRequestSubmitted,
)

DEMO_NAMESPACE = uuid.UUID("5b0e2c1a-7d4f-5e8b-9c3a-0d1e2f3a4b5c")
"""Namespace of the demo event ids: `uuid5(DEMO_NAMESPACE, "<story>/<n>")`, so a rerun records nothing new."""

DEMO_DEPARTMENTS: tuple[str, ...] = (
    "frontdesk", "hotline", "loan", "card_centre", "approval_office", "web", "repair", "sales",
)
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

E = TypeVar("E", bound=Envelope)


class Publisher(Protocol):
    def publish(self, events: list[Envelope]) -> Any: ...


@dataclass
class _Story:
    """Numbers a story's events (`<story>/<n>`) and places them on days before `today` (local midnight)."""

    name: str
    today: datetime
    events: list[Envelope] = field(default_factory=list)

    def at(self, days_ago: int, hhmm: str) -> datetime:
        hours, minutes = map(int, hhmm.split(":"))
        return self.today - timedelta(days=days_ago) + timedelta(hours=hours, minutes=minutes)

    def add(self, cls: type[E], when: datetime, source: Mapping[str, str], payload: Mapping[str, Any],
            **envelope: Any) -> E:
        event_id = uuid.uuid5(DEMO_NAMESPACE, f"{self.name}/{len(self.events) + 1}")
        event = cls.model_validate({"event_id": event_id, "occurred_at": when, "source": dict(source),
                                    "payload": dict(payload), **envelope})
        self.events.append(event)
        return event


def _src(department: str, channel: str, system: str, agent: str | None = None, site: str | None = None
         ) -> dict[str, str]:
    found = {"department": department, "channel": channel, "system": system, "agent": agent, "site": site}
    return {key: value for key, value in found.items() if value is not None}


def _call(call_id: str, *, direction: str = "inbound", ivr: str | None = None, wait: int = 20
          ) -> dict[str, Any]:
    return {"call_id": call_id, "direction": direction, "ivr_path": ivr, "wait_seconds": wait,
            "answered_by": "ivr" if ivr else "agent"}


def _ended(call_id: str, seconds: int, outcome: str, ivr_seconds: int | None = None,
           to: str | None = None) -> dict[str, Any]:
    return {"call_id": call_id, "duration_seconds": seconds, "outcome": outcome, "ivr_seconds": ivr_seconds,
            "transferred_from_ivr_to_agent": ivr_seconds is not None, "transferred_to_department": to}


def _credit_card(s: _Story) -> None:
    """Seed 003: loan -> card centre -> approval office; three calls, broken callbacks, then a complaint."""
    case = {"case_id": "CASE-DEMO-003"}
    who = {"customer_number": "C-100023", "phone": "13800138000"}
    loan = _src("loan", "phone", "cti", "loan-0231 孙丽", "苏州分行")
    cards = _src("card_centre", "phone", "cti", "card-0117", "信用卡中心")
    approval = _src("approval_office", "internal", "crm", "appr-0056", "上海审批中心")
    call1 = s.add(CallReceived, s.at(20, "09:40"), loan, _call("call-003-1", wait=35), customer=who,
                  correlation_id="call-003-1")
    s.add(CaseOpened, s.at(20, "09:44"), loan, {
        "case_type": "inquiry", "subject": "信用卡申请两个月未收到", "priority": "normal",
        "description": "客户办理房贷按揭时经信贷部推荐申请了信用卡，两个月过去仍未收到卡片，也没有任何通知，"
                       "担心邮寄途中遗失。Card never arrived, no explanation."},
        customer={**who, "national_id": "310104198806152426"}, causation_id=str(call1.event_id), **case)
    handoff1 = s.add(CaseHandedOff, s.at(20, "09:47"), loan, {
        "from_department": "loan", "to_department": "card_centre",
        "reason": "信用卡虽经信贷部代办，但业务归信用卡中心负责，信贷部无法查询制卡进度",
        "context_summary": "客户陈静，房贷客户；约两个月前经信贷部申请信用卡，至今未收到卡也无通知。"
                           "身份已核实（姓名、身份证号、手机）。请直接查询审批与寄送状态，不要让客户重复陈述。"},
        customer=who, **case)
    s.add(CallEnded, s.at(20, "09:48"), loan, _ended("call-003-1", 480, "transferred", to="card_centre"),
          customer=who, correlation_id="call-003-1", **case)
    s.add(CaseHandoffAccepted, s.at(20, "09:52"), cards, {
        "department": "card_centre", "handoff_event_id": handoff1.event_id}, customer=who,
        causation_id=str(handoff1.event_id), **case)
    s.add(CaseHandedOff, s.at(20, "10:01"), cards, {
        "from_department": "card_centre", "to_department": "approval_office",
        "reason": "信用卡审批统一在上海办理，信用卡中心看不到审批结果",
        "context_summary": "客户已被转接两次（信贷部→信用卡中心），情绪焦急。请查明审批状态、是否已制卡寄出，"
                           "结果回复 card-0117；已向客户承诺三个工作日内回电。"},
        customer=who, **case)
    s.add(CallbackPromised, s.at(20, "10:03"), cards, {
        "promise_id": "P-003-1", "due_at": s.at(17, "18:00"),
        "reason": "查询信用卡审批及寄送进度后回复客户"}, customer=who, **case)
    agent2 = {**cards, "agent": "card-0342"}
    s.add(CallReceived, s.at(14, "14:20"), agent2, _call("call-003-2", ivr="main>card>3", wait=95),
          customer=who, correlation_id="call-003-2", **case)
    s.add(CaseNoteAdded, s.at(14, "14:31"), agent2, {
        "note": "客户第二次来电（距上次六天，未接到任何回电）。客户希望找上次的接线员，但对方未报工号姓名；"
                "客户再次讲述经过并第二次提供姓名、电话、身份证号，叮嘱不要忘记回复。",
        "visibility": "internal"}, customer=who, **case)
    s.add(CallbackPromised, s.at(14, "14:33"), agent2, {
        "promise_id": "P-003-2", "due_at": s.at(14, "17:30"),
        "reason": "向审批办公室查询后马上回电（客户已等待六天）"}, customer=who, **case)
    s.add(CallEnded, s.at(14, "14:35"), agent2, _ended("call-003-2", 900, "follow_up", ivr_seconds=60),
          customer=who, correlation_id="call-003-2", **case)
    agent3 = {**cards, "agent": "card-0288"}
    call3 = s.add(CallReceived, s.at(11, "10:05"), agent3, _call("call-003-3", ivr="main>card>3", wait=140),
                  customer=who, correlation_id="call-003-3", **case)
    escalation = s.add(CaseEscalated, s.at(11, "10:18"), agent3, {
        "from_type": "inquiry", "to_type": "complaint", "level": 2,
        "reason": "两次回电承诺均未兑现，客户第三次来电、第三次陈述经过；咨询升级为投诉。"
                  "Two broken callbacks."},
        customer=who, causation_id=str(call3.event_id), **case)
    s.add(ComplaintFiled, s.at(11, "10:19"), agent3, {
        "form": "verbal", "category": "broken-promise", "severity": "high",
        "description": "三次电话、三个接线员，每次都要从头讲、重新报身份证号；答应回电却从没回过。"
                       "最后说单位'查无此人'所以审批没通过，问银行什么时候打过电话，对方沉默后挂断。"},
        customer=who, causation_id=str(escalation.event_id), **case)
    s.add(CallEnded, s.at(11, "10:24"), agent3, _ended("call-003-3", 1020, "follow_up", ivr_seconds=75),
          customer=who, correlation_id="call-003-3", **case)
    s.add(CaseHandoffAccepted, s.at(9, "11:00"), approval, {"department": "approval_office"},
          customer=who, **case)
    s.add(CaseNoteAdded, s.at(9, "11:20"), approval, {
        "note": "复核：征信核实时客户单位座机两次无人接听，即按'查无此人'拒批，"
                "既未通知客户也未告知信用卡中心。经单位人事部确认客户在职。",
        "visibility": "internal"}, customer=who, **case)
    s.add(CaseResolved, s.at(5, "16:00"), approval, {
        "resolution": "重新核实后审批通过，新卡已由EMS寄出；审批办公室主管致电致歉并说明原因，减免首年年费。"
                      "Root cause: silent rejection, no owner for the promised callbacks."},
        customer=who, **case)


def _front_desk(s: _Story) -> None:
    """Seed 000: the same consultants checked in three times in two months; the guard never knew them."""
    who = {"email": "xu.wenfeng@biyue-consulting.example", "phone": "13916881234"}
    desk = _src("frontdesk", "front_desk", "kiosk", "security-07", "华东总部大楼")
    visits = [
        (55, "09:05", "17:45", "毕越咨询项目启动：客户服务体系诊断访谈（许文锋、李博士、徐博士）",
         "完成高层访谈，约定下月开展中高层培训"),
        (30, "08:50", "17:30", "中高层客户关系管理（CRM）培训", "培训完成；Next: touchpoint walk-through"),
        (2, "08:55", "18:10", "客户接触点（终端）走访与服务蓝图梳理，董事长邀请",
         "走访完成；建议前台与保安共享访客预约信息，统一接待礼仪"),
    ]
    for number, (days, arrived, left, purpose, outcome) in enumerate(visits, start=1):
        visit_id = f"V-DEMO-000-{number}"
        s.add(FrontdeskVisitCheckedIn, s.at(days, arrived), desk, {
            "visit_id": visit_id, "purpose": purpose, "host_department": "hotline", "visitor_count": 3},
            customer=who)
        if number == 3:
            s.add(ComplaintFiled, s.at(days, "09:10"), desk, {
                "form": "verbal", "category": "staff-attitude", "severity": "medium",
                "description": "两个月内第三次来访，仍被同一名保安在电梯口拦下盘问："
                               "'谁叫你们来的？有预约吗？'不打招呼、让我们自己打电话核实；总经理出现后保安离开了岗位。"},
                customer=who)
        s.add(FrontdeskVisitCheckedOut, s.at(days, left), desk, {"visit_id": visit_id, "outcome": outcome},
              customer=who)


SERVQUAL_ITEMS: tuple[tuple[str, str, int, int], ...] = (
    ("reliability", "REL-1 设备按承诺稳定运行", 6, 7),
    ("reliability", "REL-2 按约定时间交付", 6, 6),
    ("responsiveness", "RES-1 问题能得到迅速回应", 6, 4),
    ("responsiveness", "RES-2 主动告知服务进展", 6, 3),
    ("assurance", "ASS-1 销售与工程师专业可信", 6, 5),
    ("assurance", "ASS-2 Staff are courteous", 5, 5),
    ("empathy", "EMP-1 了解我们的实际应用", 6, 3),
    ("empathy", "EMP-2 定期主动上门拜访", 6, 2),
    ("tangibles", "TAN-1 展厅与设备外观整洁", 5, 6),
    ("tangibles", "TAN-2 资料与报价单清晰", 5, 5),
)


def _sales_call(s: _Story, rep: Mapping[str, str], who: Mapping[str, str], call_id: str, days: int) -> None:
    s.add(CallReceived, s.at(days, "10:00"), rep, _call(call_id, direction="outbound", wait=8),
          customer=dict(who), correlation_id=call_id)
    s.add(CallEnded, s.at(days, "10:14"), rep, _ended(call_id, 840, "resolved"), customer=dict(who),
          correlation_id=call_id)


def _key_account(s: _Story) -> None:
    """Seed 001: a key account served regularly, then silence for months; survey, compliment, a referral."""
    who = {"customer_number": "C-200117", "phone": "13991234567", "email": "zhao.gong@huaqin-design.example"}
    rep = _src("sales", "phone", "cti", "sales-0815 王磊", "西安")
    showroom = _src("sales", "front_desk", "kiosk", "sales-0815 王磊", "西安展厅")
    _sales_call(s, rep, who, "call-001-1", 330)
    s.add(FrontdeskVisitCheckedIn, s.at(300, "14:00"), showroom, {
        "visit_id": "V-DEMO-001-1", "purpose": "重点客户季度交流：图形工作站选型", "host_department": "sales",
        "visitor_count": 2}, customer=who)
    s.add(FrontdeskVisitCheckedOut, s.at(300, "16:30"), showroom, {
        "visit_id": "V-DEMO-001-1", "outcome": "确认下季度采购意向；约定每季度上门回访"}, customer=who)
    _sales_call(s, rep, who, "call-001-2", 270)  # the last contact for months
    s.add(SurveyServqualAnswered, s.at(12, "20:15"), _src("sales", "web", "survey"), {
        "survey_id": "S-DEMO-001",
        "items": [{"dimension": d, "item": i, "expectation": e, "perception": p}
                  for d, i, e, p in SERVQUAL_ITEMS]},
        customer=who)
    s.add(ComplimentReceived, s.at(10, "09:30"), _src("sales", "email", "mailbox"), {
        "description": "三年来设备几乎没出过故障，很稳定，谢谢。只是最近大半年没见你们的人来过了。"},
        customer=who)
    s.add(ReferralMade, s.at(6, "15:40"), _src("sales", "phone", "cti", "sales-0815 王磊", "西安"), {
        "description": "中型客户在季度电话回访中推荐其合作方采购图形工作站",
        "referred_party": "西安蓝图建筑设计事务所 周经理"},
        customer={"customer_number": "C-200245", "phone": "13709187766"})


def _repair(s: _Story) -> None:
    """Seed 004: web repair request, repair order, a hotline call about it, visit scheduled and completed."""
    case = {"case_id": "CASE-DEMO-004"}
    serial = "KFR35GW-2203-008812"
    who = {"customer_number": "C-300512", "email": "liu.yang@example.com", "device_serial": serial}
    repair = _src("repair", "internal", "fsm", "rep-0102", "南京服务中心")
    hotline = _src("hotline", "phone", "cti", "hl-0412", "南京呼叫中心")
    request = s.add(WebRequestSubmitted, s.at(8, "21:40"), _src("web", "web", "website"), {
        "request_id": "W-DEMO-004", "form": "repair-request", "subject": "空调不制冷，外机有异响",
        "body": f"去年买的挂机 KFR-35GW，这两天开制冷只吹风不凉，室外机嗡嗡响。序列号 {serial}。"
                "周末在家，方便时请联系。Thanks."},
        customer={"email": who["email"], "device_serial": serial})
    s.add(CaseOpened, s.at(7, "09:05"), repair, {
        "case_type": "repair", "subject": "空调不制冷报修", "priority": "normal",
        "description": "网上报修：制冷失效、室外机异响。"},
        customer=who, causation_id=str(request.event_id), **case)
    s.add(RepairOrderOpened, s.at(7, "09:10"), repair, {
        "order_id": "RO-DEMO-004", "problem": "不制冷，室外机异响", "device_serial": serial,
        "product": "KFR-35GW 挂式空调"}, customer=who, **case)
    s.add(RepairVisitScheduled, s.at(7, "09:20"), repair, {
        "order_id": "RO-DEMO-004", "scheduled_for": s.at(5, "14:00"), "window_minutes": 120,
        "technician": "张师傅"}, customer=who, **case)
    phone = {**who, "phone": "13912345678"}
    s.add(CallReceived, s.at(6, "19:20"), hotline, _call("call-004-1", ivr="main>repair>1", wait=30),
          customer=phone, correlation_id="call-004-1", **case)
    s.add(IdentityIdentifiersLinked, s.at(6, "19:24"), hotline, {
        "identifiers": [{"kind": kind, "value": phone[kind]}
                        for kind in ("customer_number", "phone", "email", "device_serial")],
        "reason": "热线核对报修单：来电号码与网上报修邮箱、设备序列号属于同一客户", "verified": True},
        customer=phone, correlation_id="call-004-1")
    s.add(CallEnded, s.at(6, "19:27"), hotline, _ended("call-004-1", 420, "resolved", ivr_seconds=40),
          customer=phone, correlation_id="call-004-1", **case)
    technician = {**repair, "channel": "field", "agent": "tech-017 张师傅"}
    s.add(RepairVisitCompleted, s.at(5, "15:10"), technician, {
        "order_id": "RO-DEMO-004", "outcome": "fixed",
        "notes": "压缩机启动电容损坏，已更换并补充冷媒；制冷恢复正常 (capacitor replaced)。"},
        customer=who, **case)
    s.add(CaseResolved, s.at(5, "15:30"), repair, {"resolution": "上门维修完成，客户确认制冷正常。"},
          customer=who, **case)


STORIES: dict[str, Callable[[_Story], None]] = {
    "credit-card": _credit_card, "front-desk": _front_desk, "key-account": _key_account, "repair": _repair,
}


def demo_stories(now: datetime) -> dict[str, list[Envelope]]:
    """Each story's events, in story order; times are days before `now`'s date in Shanghai."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    stories = {}
    for name, build in STORIES.items():
        story = _Story(name, today)
        build(story)
        stories[name] = story.events
    return stories


def demo_events(now: datetime) -> list[Envelope]:
    """Every demo event, oldest first; the same `now` always gives the same events."""
    events = [event for story in demo_stories(now).values() for event in story]
    return sorted(events, key=lambda event: event.occurred_at)


def publish_demo(publisher: Publisher) -> int:
    """Publish the demo events in one call (the store dedupes a rerun by event_id); returns how many."""
    events = demo_events(datetime.now(UTC))
    publisher.publish(events)
    return len(events)
