"""The v1 vocabulary: every event class, and the lookup from (event_type, schema_version) to its model."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from contracts.callbacks import CallbackMade, CallbackPromised
from contracts.cases import (
    CaseCustomerResponded,
    CaseEscalated,
    CaseHandedOff,
    CaseHandoffAccepted,
    CaseNoteAdded,
    CaseOpened,
    CaseReopened,
    CaseResolved,
    CaseWaitingOnCustomer,
)
from contracts.envelope import Envelope
from contracts.feedback import ComplaintFiled, ComplimentReceived, ReferralMade
from contracts.identity import IdentityIdentifiersLinked, IdentityIdentifiersUnlinked
from contracts.privacy import PrivacySubjectErased
from contracts.repairs import RepairOrderOpened, RepairVisitCompleted, RepairVisitScheduled
from contracts.sales import SaleOrderPlaced
from contracts.sla import (
    SlaAlertAcknowledged,
    SlaAlertRetracted,
    SlaBreached,
    SlaCalendarGap,
    SlaPolicyPublished,
    SlaWarningRaised,
)
from contracts.survey import SurveyServqualAnswered
from contracts.touchpoints import (
    CallEnded,
    CallReceived,
    FrontdeskVisitCheckedIn,
    FrontdeskVisitCheckedOut,
    WebRequestSubmitted,
)

# Catalogue order: touchpoints, repairs, sales, cases, promises, feedback, identity, SLA, privacy.
EVENT_CLASSES: tuple[type[Envelope], ...] = (
    FrontdeskVisitCheckedIn,
    FrontdeskVisitCheckedOut,
    CallReceived,
    CallEnded,
    WebRequestSubmitted,
    RepairOrderOpened,
    RepairVisitScheduled,
    RepairVisitCompleted,
    SaleOrderPlaced,
    CaseOpened,
    CaseNoteAdded,
    CaseHandedOff,
    CaseHandoffAccepted,
    CaseWaitingOnCustomer,
    CaseCustomerResponded,
    CaseEscalated,
    CaseResolved,
    CaseReopened,
    CallbackPromised,
    CallbackMade,
    ComplaintFiled,
    ComplimentReceived,
    ReferralMade,
    SurveyServqualAnswered,
    IdentityIdentifiersLinked,
    IdentityIdentifiersUnlinked,
    SlaPolicyPublished,
    SlaWarningRaised,
    SlaBreached,
    SlaAlertAcknowledged,
    SlaAlertRetracted,
    SlaCalendarGap,
    PrivacySubjectErased,
)

EVENT_TYPES: Mapping[tuple[str, int], type[Envelope]] = MappingProxyType(
    {cls.type_key(): cls for cls in EVENT_CLASSES}
)
"""(event_type, schema_version) -> model class; read-only."""

if len(EVENT_TYPES) != len(EVENT_CLASSES):  # pragma: no cover - a programming error caught at import
    raise RuntimeError("two event classes share an (event_type, schema_version)")

INTERNAL_EVENT_TYPES: frozenset[str] = frozenset(
    cls.type_key()[0] for cls in EVENT_CLASSES if cls.RECORDED_BY_TOUCHLINE
)
"""Event types only touchline's own processes record (`Envelope.RECORDED_BY_TOUCHLINE`); refused from producers."""
