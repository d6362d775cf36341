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


def rank(cases: Mapping[str, CaseFacts], repeats: Mapping[str, Sequence[Fact]], handoffs: Iterable[HandoffSignal],
         examples: int = 3) -> list[TouchpointScore]:
    """Every touchpoint with volume, the most failure-prone first (`handoffs` of the cases in `cases`)."""
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
    for case_id, case in sorted(cases.items()):
        first = Touchpoint(case.channel, case.department, FIRST_CONTACT)
        board.volume[first] += 1
        board.signal(first, "repeat_contact", case_id, len(repeats.get(case_id, ())))
        board.signal(first, "complaint", case_id, len(case.complaints))
        board.signal(first, "reopen", case_id, len(case.reopened_us))
        for at, _, department in case.breaches:
            earlier = [where for when, to, where in into.get(case_id, ()) if to == department and when <= at]
            board.signal(earlier[-1] if earlier else first, "breach", case_id)
    scores = [TouchpointScore(where, volume, tuple((k, board.signals[where][k]) for k in SIGNALS
                                                   if board.signals[where][k]),
                              tuple(sorted(board.cases[where])[:examples]))
              for where, volume in board.volume.items()]
    return sorted(scores, key=lambda s: (-s.rate, -s.failures, s.touchpoint))
