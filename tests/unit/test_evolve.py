"""`evolve` is `dataclasses.replace`, faster for frozen slotted value classes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from domain.cases import CaseState, Handoff
from domain.evolve import evolve
from domain.sla.clock import Clock, Pause
from tests.support.sla import clock

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Unslotted:
    a: int
    b: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Checked:
    a: int
    doubled: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "doubled", self.a * 2)


def test_evolve_equals_replace_on_the_reducers_value_classes() -> None:
    state = CaseState(case_id="C-1", holder="loan", handoffs=(Handoff(1, 3, "e", "loan", "card", "r", "s", AT,
                                                                          "inquiry", "high", False),))
    changed = evolve(state, holder="card", last_position=7)
    assert changed == dataclasses.replace(state, holder="card", last_position=7)
    assert type(changed) is CaseState and changed.handoffs is state.handoffs and state.holder == "loan"
    running: Clock = clock(AT)
    assert evolve(running, pauses=(Pause(AT),)) == dataclasses.replace(running, pauses=(Pause(AT),))
    assert evolve(running) == running and evolve(running) is not running
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.holder = "x"  # type: ignore[misc]


def test_evolve_refuses_unknown_fields_and_falls_back_for_other_classes() -> None:
    with pytest.raises(TypeError, match="nope"):
        evolve(CaseState(case_id="C-1"), nope=1)
    assert evolve(Unslotted(1, (2,)), a=3) == Unslotted(3, (2,))
    assert evolve(Checked(2), a=5).doubled == 10
    with pytest.raises(TypeError):
        evolve(object())
