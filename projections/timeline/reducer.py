"""Customer timeline reducer: pure attribution of recorded events to customers (no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import cast

from contracts import CustomerRef
from domain.log import RecordedEvent

KeyFn = Callable[[CustomerRef], str | None]
"""Maps a customer reference to a customer id (today `customer_key`; identity resolution replaces it)."""


class UnattributedReason(StrEnum):
    """Why an event could not be placed on any customer's timeline."""

    NO_CUSTOMER = "no_customer"  # no usable identifier and no case
    UNKNOWN_CASE = "unknown_case"  # no usable identifier; its case was not (yet) linked to a customer


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event on one customer's timeline; timelines sort by (occurred_us, position)."""

    customer_id: str
    position: int
    event_id: str
    occurred_at: datetime
    occurred_us: int
    event_type: str
    channel: str
    department: str
    site: str | None
    agent: str | None
    summary: str
    case_id: str | None

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.occurred_us, self.position)


@dataclass(frozen=True, slots=True)
class Unattributed:
    """An event kept aside because no customer could be found for it (an anomaly, never dropped)."""

    position: int
    event_id: str
    reason: UnattributedReason
    event_type: str = ""
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class CaseLink:
    """The first customer learned for a case, from an event of that case that carried identifiers."""

    case_id: str
    customer_id: str
    position: int


@dataclass(frozen=True, slots=True)
class TimelineState:
    """What the reducer remembers between events: which customer each case belongs to."""

    cases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", MappingProxyType(dict(self.cases)))

    def customer_of_case(self, case_id: str) -> str | None:
        return self.cases.get(case_id)

    def linking(self, links: Iterable[CaseLink]) -> TimelineState:
        """This state with new case links added (a case keeps the first customer learned for it)."""
        new = {link.case_id: link.customer_id for link in links if link.case_id not in self.cases}
        return TimelineState({**self.cases, **new}) if new else self


EMPTY = TimelineState()


@dataclass(frozen=True, slots=True)
class TimelineOutput:
    """The rows one event (or a folded batch) produces for the read model."""

    entries: tuple[TimelineEntry, ...] = ()
    unattributed: tuple[Unattributed, ...] = ()
    case_links: tuple[CaseLink, ...] = ()


def reduce(
    state: TimelineState, recorded: RecordedEvent, key_fn: KeyFn
) -> tuple[TimelineState, TimelineOutput]:
    """Attribute one recorded event: its timeline entry (or anomaly) and case link."""
    output = _step(state.customer_of_case, recorded, _Keys(key_fn))
    return state.linking(output.case_links), output


def fold(
    events: Iterable[RecordedEvent], key_fn: KeyFn, state: TimelineState = EMPTY
) -> tuple[TimelineState, TimelineOutput]:
    """`reduce` over events in the given order (same result as chaining `reduce`, but one mutable dict, and each
    distinct customer reference keyed once)."""
    cases = dict(state.cases)
    keys = _Keys(key_fn)
    entries: list[TimelineEntry] = []
    unattributed: list[Unattributed] = []
    links: list[CaseLink] = []
    for recorded in events:
        output = _step(cases.get, recorded, keys)
        entries.extend(output.entries)
        if output.unattributed:
            unattributed.extend(output.unattributed)
        for link in output.case_links:
            cases.setdefault(link.case_id, link.customer_id)
            links.append(link)
    return TimelineState(cases), TimelineOutput(tuple(entries), tuple(unattributed), tuple(links))


_UNKNOWN = object()


class _Keys:
    """`key_fn` of customer references, each distinct reference keyed once (a function of the reference alone; a
    batch names the same customers again and again)."""

    _LIMIT = 50_000

    def __init__(self, key_fn: KeyFn) -> None:
        self._key_fn = key_fn
        self._known: dict[CustomerRef, str | None] = {}

    def key(self, customer: CustomerRef) -> str | None:
        known = self._known.get(customer, _UNKNOWN)  # one lookup: hashing and comparing references costs
        if known is not _UNKNOWN:
            return cast("str | None", known)
        if len(self._known) >= self._LIMIT:
            self._known.clear()
        found = self._known[customer] = self._key_fn(customer)
        return found


def needed_case_ids(events: Iterable[RecordedEvent]) -> frozenset[str]:
    """The cases whose customer a fold of these events may consult (the part of the state to load)."""
    return frozenset(r.event.case_id for r in events if r.event.case_id is not None)


def in_timeline_order(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """Entries ascending by occurrence time, ties broken by log position."""
    return sorted(entries, key=lambda entry: entry.sort_key)


def _step(known_case: Callable[[str], str | None], recorded: RecordedEvent, keys: _Keys) -> TimelineOutput:
    event = recorded.event
    if not event.CONCERNS_A_CUSTOMER:
        return TimelineOutput()
    own = keys.key(event.customer)
    linked = known_case(event.case_id) if event.case_id is not None else None
    customer_id = own if own is not None else linked
    if customer_id is None:
        return TimelineOutput(unattributed=(_unattributed(recorded),))
    links: tuple[CaseLink, ...] = ()
    if own is not None and event.case_id is not None and linked is None:
        links = (CaseLink(event.case_id, own, recorded.position),)
    return TimelineOutput(entries=(_entry(recorded, customer_id),), case_links=links)


def _entry(recorded: RecordedEvent, customer_id: str) -> TimelineEntry:
    event = recorded.event
    return TimelineEntry(
        customer_id=customer_id,
        position=recorded.position,
        event_id=recorded.event_id,
        occurred_at=event.occurred_at,
        occurred_us=recorded.occurred_us,
        event_type=event.event_type,
        channel=str(event.source.channel),
        department=event.source.department,
        site=event.source.site,
        agent=event.source.agent,
        summary=event.summary(),
        case_id=event.case_id,
    )


def _unattributed(recorded: RecordedEvent) -> Unattributed:
    event = recorded.event
    reason = UnattributedReason.NO_CUSTOMER if event.case_id is None else UnattributedReason.UNKNOWN_CASE
    return Unattributed(recorded.position, recorded.event_id, reason, event.event_type, event.case_id)
