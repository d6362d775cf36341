"""touchline's wire format: the event envelope, the v1 event vocabulary, parsing, canonical JSON and schemas.

Event classes are named after their type: `area.past_tense_fact` -> `AreaPastTenseFact`
(`call.received` -> `CallReceived`, `identity.identifiers_linked` -> `IdentityIdentifiersLinked`);
each payload class adds `Payload` (`CallReceivedPayload`).
"""

from contracts.callbacks import CallbackMade, CallbackMadePayload, CallbackPromised, CallbackPromisedPayload
from contracts.cases import (
    CaseCustomerResponded,
    CaseCustomerRespondedPayload,
    CaseEscalated,
    CaseEscalatedPayload,
    CaseHandedOff,
    CaseHandedOffPayload,
    CaseHandoffAccepted,
    CaseHandoffAcceptedPayload,
    CaseNoteAdded,
    CaseNoteAddedPayload,
    CaseOpened,
    CaseOpenedPayload,
    CaseReopened,
    CaseReopenedPayload,
    CaseResolved,
    CaseResolvedPayload,
    CaseType,
    CaseWaitingOnCustomer,
    CaseWaitingOnCustomerPayload,
    Priority,
)
from contracts.catalogue import render_catalogue
from contracts.codec import field_errors, parse, partition_key, to_canonical_json
from contracts.compatibility import check_compatibility
from contracts.envelope import CaseEnvelope, Channel, CustomerRef, Envelope, Payload, Source
from contracts.errors import ContractError, FieldError, InvalidEvent
from contracts.feedback import (
    ComplaintFiled,
    ComplaintFiledPayload,
    ComplimentReceived,
    ComplimentReceivedPayload,
    ReferralMade,
    ReferralMadePayload,
)
from contracts.identity import (
    CustomerIdentifier,
    IdentifierKind,
    IdentityIdentifiersLinked,
    IdentityIdentifiersLinkedPayload,
    IdentityIdentifiersUnlinked,
    IdentityIdentifiersUnlinkedPayload,
)
from contracts.registry import EVENT_CLASSES, EVENT_TYPES
from contracts.repairs import (
    RepairOrderOpened,
    RepairOrderOpenedPayload,
    RepairVisitCompleted,
    RepairVisitCompletedPayload,
    RepairVisitScheduled,
    RepairVisitScheduledPayload,
)
from contracts.schemas import PUBLISHED_DIR, export_schemas, json_schema, load_published, publish_snapshots
from contracts.survey import (
    ServqualDimension,
    ServqualItem,
    SurveyServqualAnswered,
    SurveyServqualAnsweredPayload,
)
from contracts.touchpoints import (
    CallEnded,
    CallEndedPayload,
    CallReceived,
    CallReceivedPayload,
    FrontdeskVisitCheckedIn,
    FrontdeskVisitCheckedInPayload,
    FrontdeskVisitCheckedOut,
    FrontdeskVisitCheckedOutPayload,
    WebRequestSubmitted,
    WebRequestSubmittedPayload,
)

__all__ = [
    # envelope and vocabulary
    "Envelope",
    "CaseEnvelope",
    "Payload",
    "Source",
    "CustomerRef",
    "Channel",
    "CaseType",
    "Priority",
    "ServqualDimension",
    "ServqualItem",
    "IdentifierKind",
    "CustomerIdentifier",
    "EVENT_TYPES",
    "EVENT_CLASSES",
    # codec and errors
    "parse",
    "to_canonical_json",
    "partition_key",
    "field_errors",
    "ContractError",
    "InvalidEvent",
    "FieldError",
    # schemas and documentation
    "json_schema",
    "export_schemas",
    "publish_snapshots",
    "load_published",
    "PUBLISHED_DIR",
    "check_compatibility",
    "render_catalogue",
    # events
    "FrontdeskVisitCheckedIn",
    "FrontdeskVisitCheckedInPayload",
    "FrontdeskVisitCheckedOut",
    "FrontdeskVisitCheckedOutPayload",
    "CallReceived",
    "CallReceivedPayload",
    "CallEnded",
    "CallEndedPayload",
    "WebRequestSubmitted",
    "WebRequestSubmittedPayload",
    "RepairOrderOpened",
    "RepairOrderOpenedPayload",
    "RepairVisitScheduled",
    "RepairVisitScheduledPayload",
    "RepairVisitCompleted",
    "RepairVisitCompletedPayload",
    "CaseOpened",
    "CaseOpenedPayload",
    "CaseNoteAdded",
    "CaseNoteAddedPayload",
    "CaseHandedOff",
    "CaseHandedOffPayload",
    "CaseHandoffAccepted",
    "CaseHandoffAcceptedPayload",
    "CaseWaitingOnCustomer",
    "CaseWaitingOnCustomerPayload",
    "CaseCustomerResponded",
    "CaseCustomerRespondedPayload",
    "CaseEscalated",
    "CaseEscalatedPayload",
    "CaseResolved",
    "CaseResolvedPayload",
    "CaseReopened",
    "CaseReopenedPayload",
    "CallbackPromised",
    "CallbackPromisedPayload",
    "CallbackMade",
    "CallbackMadePayload",
    "ComplaintFiled",
    "ComplaintFiledPayload",
    "ComplimentReceived",
    "ComplimentReceivedPayload",
    "ReferralMade",
    "ReferralMadePayload",
    "SurveyServqualAnswered",
    "SurveyServqualAnsweredPayload",
    "IdentityIdentifiersLinked",
    "IdentityIdentifiersLinkedPayload",
    "IdentityIdentifiersUnlinked",
    "IdentityIdentifiersUnlinkedPayload",
]
