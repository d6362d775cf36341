"""The period index gives every instant the period `period_of_us` gives it, in any zone and order of asking."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.quality.periods import PeriodIndex, PeriodKind, next_period, period_of_us, previous_period

# Asia/Shanghai (the default; LMT +08:05:43 before 1901), America/Havana and America/Santiago (DST changes at
# local midnight), Asia/Kathmandu (+05:45), Pacific/Chatham (+12:45/+13:45), Europe/London (DST at 01:00).
ZONES = ("Asia/Shanghai", "America/Havana", "America/Santiago", "Asia/Kathmandu", "Pacific/Chatham",
         "Europe/London", "UTC")
LOW, HIGH = -2_300_000_000_000_000, 4_100_000_000_000_000  # 1897 .. 2099, in µs since the epoch


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(list(PeriodKind)),
       st.lists(st.integers(LOW, HIGH), min_size=1, max_size=60))
def test_the_index_agrees_with_period_of_us(zone_name: str, kind: PeriodKind, instants: list[int]) -> None:
    zone, index = ZoneInfo(zone_name), PeriodIndex(kind, ZoneInfo(zone_name))
    for at in instants:
        assert index(at) == period_of_us(at, kind, zone)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(list(PeriodKind)), st.integers(LOW, HIGH),
       st.integers(-5_000_000, 5_000_000))
def test_instants_in_neighbouring_periods(zone_name: str, kind: PeriodKind, at: int, nudge: int) -> None:
    """Ask for an instant first, then for instants near it and about a month either side (neighbouring periods,
    looked up among the intervals already known)."""
    zone, index = ZoneInfo(zone_name), PeriodIndex(kind, ZoneInfo(zone_name))
    index(at)
    for probe in (at + nudge, at - 31 * 86_400_000_000 + nudge, at + 31 * 86_400_000_000 + nudge):
        assert index(probe) == period_of_us(probe, kind, zone)


def test_next_undoes_previous() -> None:
    for period in ("2026-01", "2026-12", "2025-07", "2026-Q1", "2026-Q4", "1999-Q2"):
        assert next_period(previous_period(period)) == period
        assert previous_period(next_period(period)) == period
    assert next_period("2025-12") == "2026-01" and next_period("2025-Q4") == "2026-Q1"
