"""Failure-prone touchpoints (service blueprint): where in the service flow cases go wrong, per volume (pure).

A touchpoint is (channel, department, step). Every case passes its *first contact* (the channel it was opened
through, the opening department); every handoff passes `handoff to <department>` at the handing department, on the
case's channel. Failure signals are attributed as follows:
- `repeat_contact`, `complaint`, `reopen`: the case's first contact;
- `dropped_handoff`, `ping_pong` (the handoff took the case back to a department it had left): that handoff;
- `breach` (an SLA clock of the case breached in department D): the latest handoff into D before the breach, else
  the first contact.
`rate` = signals / volume (cases for a first contact, handoffs for a handoff step); ranked by rate, then signals.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.quality.cases import CaseFacts
from domain.quality.facts import Fact

FIRST_CONTACT = "first contact"
SIGNALS = ("breach", "dropped_handoff", "ping_pong", "repeat_contact", "complaint", "reopen")


@dataclass(frozen=True, slots=True, order=True)
class Touchpoint:
    channel: str
    department: str
    step: str


@dataclass(frozen=True, slots=True)
class HandoffSignal:
    """A handoff as the cases projection tells it: when, from where to where, dropped, returned (ping-pong)."""

    case_id: str
    handed_us: int
    from_department: str
    to_department: str
    dropped: bool
    returned: bool


@dataclass(frozen=True, slots=True)
class TouchpointScore:
    touchpoint: Touchpoint
    volume: int
    signals: tuple[tuple[str, int], ...]  # per signal kind (SIGNALS order), zeros left out
    examples: tuple[str, ...]  # case ids with a signal here, first few by id

    @property
    def failures(self) -> int:
        return sum(count for _, count in self.signals)

    @property
    def rate(self) -> float:
        return round(self.failures / self.volume, 4) if self.volume else 0.0


class _Board:
    def __init__(self) -> None:
        self.volume: Counter[Touchpoint] = Counter()
        self.signals: dict[Touchpoint, Counter[str]] = defaultdict(Counter)
        self.cases: dict[Touchpoint, set[str]] = defaultdict(set)

    def signal(self, where: Touchpoint, kind: str, case_id: str, count: int = 1) -> None:
        if count:
            self.signals[where][kind] += count
            self.cases[where].add(case_id)


@dataclass(frozen=True, slots=True)
class FirstContactPart:
    """What one case adds at its first contact: the touchpoint and its repeat contacts, complaints, reopens."""

    where: Touchpoint
    signals: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, case: CaseFacts, repeats: int) -> FirstContactPart:
        counts = (("repeat_contact", repeats), ("complaint", len(case.complaints)), ("reopen", len(case.reopened_us)))
        return cls(Touchpoint(case.channel, case.department, FIRST_CONTACT), tuple(c for c in counts if c[1]))


class FirstContacts:
    """The first-contact touchpoints of many cases, kept case by case: volume, signals, and the ids of the cases
    with a signal there (sorted, for the examples)."""

    def __init__(self) -> None:
        self.volume: Counter[Touchpoint] = Counter()
        self.signals: dict[Touchpoint, Counter[str]] = defaultdict(Counter)
        self.cases: dict[Touchpoint, list[str]] = defaultdict(list)

    def add(self, case_id: str, part: FirstContactPart, sign: int = 1) -> None:
        self.volume[part.where] += sign
        for kind, count in part.signals:
            self.signals[part.where][kind] += sign * count
        if part.signals:
            ids = self.cases[part.where]
            if sign > 0:
                insort(ids, case_id)
            else:
                del ids[bisect_left(ids, case_id)]


def rank(cases: Mapping[str, CaseFacts], repeats: Mapping[str, Sequence[Fact]], handoffs: Iterable[HandoffSignal],
         examples: int = 3) -> list[TouchpointScore]:
    """Every touchpoint with volume, the most failure-prone first (`handoffs` of the cases in `cases`)."""
    first = FirstContacts()
    for case_id, case in cases.items():
        first.add(case_id, FirstContactPart.of(case, len(repeats.get(case_id, ()))))
    return rank_with(first, cases, [c for c in cases.values() if c.breaches], handoffs, examples)


def rank_with(first: FirstContacts, cases: Mapping[str, CaseFacts], breaching: Iterable[CaseFacts],
              handoffs: Iterable[HandoffSignal], examples: int = 3) -> list[TouchpointScore]:
    """`rank` from the first contacts kept case by case, the cases with a breach, and the handoffs."""
    board = _Board()
    into: dict[str, list[tuple[int, str, Touchpoint]]] = defaultdict(list)  # case -> (when, to, touchpoint)
    for h in sorted(handoffs, key=lambda h: (h.case_id, h.handed_us)):
        case = cases.get(h.case_id)
        if case is None:
            continue
        where = Touchpoint(case.channel, h.from_department, f"handoff to {h.to_department}")
        board.volume[where] += 1
        board.signal(where, "dropped_handoff", h.case_id, int(h.dropped))
        board.signal(where, "ping_pong", h.case_id, int(h.returned))
        into[h.case_id].append((h.handed_us, h.to_department, where))
    for case in breaching:
        for at, _, department in case.breaches:
            earlier = [where for when, to, where in into.get(case.case_id, ()) if to == department and when <= at]
            where = earlier[-1] if earlier else Touchpoint(case.channel, case.department, FIRST_CONTACT)
            board.signal(where, "breach", case.case_id)
    for where, volume in first.volume.items():
        if volume:
            board.volume[where] += volume
            board.signals[where].update(first.signals[where])
    scores = []
    for where, volume in board.volume.items():
        signals = board.signals[where]
        ids = heapq.nsmallest(examples, {*first.cases.get(where, ())[:examples], *board.cases[where]})
        scores.append(TouchpointScore(where, volume, tuple((k, signals[k]) for k in SIGNALS if signals[k]),
                                      tuple(ids)))
    return sorted(scores, key=lambda s: (-s.rate, -s.failures, s.touchpoint))
