"""Customer timeline reducer: pure attribution of recorded events to customers (no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import chain
from types import MappingProxyType

from contracts import CustomerRef
from domain.identity.identifiers import Identifier, IdentifierKind, identifiers_of
from domain.log import RecordedEvent

KeyFn = Callable[[CustomerRef], str | None]
"""Maps a customer reference to a customer id (today `customer_key`; identity resolution replaces it)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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
class IdentifierSighting:
    """A normalised identifier seen on an event attributed to a customer (national IDs as keyed digests)."""

    kind: IdentifierKind
    value: str
    customer_id: str
    position: int
    occurred_us: int


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
    sightings: tuple[IdentifierSighting, ...] = ()
    unattributed: tuple[Unattributed, ...] = ()
    case_links: tuple[CaseLink, ...] = ()

    @staticmethod
    def concat(outputs: Sequence[TimelineOutput]) -> TimelineOutput:
        return TimelineOutput(
            entries=tuple(chain.from_iterable(o.entries for o in outputs)),
            sightings=tuple(chain.from_iterable(o.sightings for o in outputs)),
            unattributed=tuple(chain.from_iterable(o.unattributed for o in outputs)),
            case_links=tuple(chain.from_iterable(o.case_links for o in outputs)),
        )


def epoch_us(at: datetime) -> int:
    """UTC epoch microseconds of an aware datetime (exact integer arithmetic)."""
    if at.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return (at - _EPOCH) // _MICROSECOND


def reduce(
    state: TimelineState, recorded: RecordedEvent, key_fn: KeyFn
) -> tuple[TimelineState, TimelineOutput]:
    """Attribute one recorded event: its timeline entry (or anomaly), identifier sightings and case link."""
    output = _step(state.customer_of_case, recorded, _Keys(key_fn))
    return state.linking(output.case_links), output


def fold(
    events: Iterable[RecordedEvent], key_fn: KeyFn, state: TimelineState = EMPTY
) -> tuple[TimelineState, TimelineOutput]:
    """`reduce` over events in the given order (same result as chaining `reduce`, but one mutable dict, and each
    distinct customer reference keyed and normalised once)."""
    cases = dict(state.cases)
    keys = _Keys(key_fn)
    entries: list[TimelineEntry] = []
    sightings: list[IdentifierSighting] = []
    unattributed: list[Unattributed] = []
    links: list[CaseLink] = []
    for recorded in events:
        output = _step(cases.get, recorded, keys)
        if output.entries:
            entries.extend(output.entries)
            sightings.extend(output.sightings)
        if output.unattributed:
            unattributed.extend(output.unattributed)
        for link in output.case_links:
            cases.setdefault(link.case_id, link.customer_id)
            links.append(link)
    return TimelineState(cases), TimelineOutput(tuple(entries), tuple(sightings), tuple(unattributed), tuple(links))


class _Keys:
    """`key_fn` and the normalised identifiers of customer references, each distinct reference worked out once
    (both are functions of the reference alone; a batch names the same customers again and again)."""

    _LIMIT = 50_000

    def __init__(self, key_fn: KeyFn) -> None:
        self._key_fn = key_fn
        self._known: dict[CustomerRef, tuple[str | None, tuple[Identifier, ...] | None]] = {}

    def key(self, customer: CustomerRef) -> str | None:
        known = self._known.get(customer)
        if known is None:
            known = self._remember(customer, (self._key_fn(customer), None))
        return known[0]

    def identifiers(self, customer: CustomerRef) -> tuple[Identifier, ...]:
        key, found = self._known.get(customer) or (self.key(customer), None)
        if found is None:
            found = identifiers_of(customer)
            self._remember(customer, (key, found))
        return found

    def _remember(self, customer: CustomerRef, known: tuple[str | None, tuple[Identifier, ...] | None],
                  ) -> tuple[str | None, tuple[Identifier, ...] | None]:
        if len(self._known) >= self._LIMIT:
            self._known.clear()
        self._known[customer] = known
        return known


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
    entry = _entry(recorded, customer_id)
    return TimelineOutput(
        entries=(entry,),
        sightings=_sightings(entry, keys.identifiers(event.customer)),
        case_links=links,
    )


def _entry(recorded: RecordedEvent, customer_id: str) -> TimelineEntry:
    event = recorded.event
    return TimelineEntry(
        customer_id=customer_id,
        position=recorded.position,
        event_id=str(event.event_id),
        occurred_at=event.occurred_at,
        occurred_us=epoch_us(event.occurred_at),
        event_type=event.event_type,
        channel=str(event.source.channel),
        department=event.source.department,
        site=event.source.site,
        agent=event.source.agent,
        summary=event.summary(),
        case_id=event.case_id,
    )


def _sightings(entry: TimelineEntry, identifiers: tuple[Identifier, ...]) -> tuple[IdentifierSighting, ...]:
    return tuple(
        IdentifierSighting(found.kind, found.value, entry.customer_id, entry.position, entry.occurred_us)
        for found in identifiers
    )


def _unattributed(recorded: RecordedEvent) -> Unattributed:
    event = recorded.event
    reason = UnattributedReason.NO_CUSTOMER if event.case_id is None else UnattributedReason.UNKNOWN_CASE
    return Unattributed(recorded.position, str(event.event_id), reason, event.event_type, event.case_id)
