"""The lag benchmark's arithmetic: when a polled log position first covered an event, per-event lags, and whether
the lag stayed level over a run."""

from __future__ import annotations

import pytest

from bench.lag import CUSTOMERS, Lags, Reached, bounded, lags, slope, summary, touchpoints
from tests.support.pipeline import touchpoint

pytestmark = pytest.mark.unit


def polled(*samples: tuple[float, int]) -> Reached:
    reached = Reached()
    for at, position in samples:
        reached.add(at, position)
    return reached


def test_an_event_is_reached_at_the_first_poll_at_or_beyond_its_position() -> None:
    reached = polled((1.0, 0), (1.05, 3), (1.10, 3), (1.15, 7))
    assert [reached.first(p) for p in (1, 3, 4, 7, 8)] == [1.05, 1.05, 1.15, 1.15, None]
    assert reached.last() == 7


def test_a_stage_throughput_is_the_positions_gained_between_two_instants() -> None:
    reached = polled((1.0, 100), (2.0, 1100), (3.0, 2100), (4.0, 2600))
    assert [reached.at(t) for t in (0.5, 1.0, 2.5, 9.0)] == [0, 100, 1100, 2600]
    assert reached.rate(1.0, 3.0) == 1000.0
    assert reached.rate(3.0, 3.0) == 0.0


def test_a_position_polled_lower_than_before_keeps_the_highest_seen() -> None:
    reached = polled((1.0, 5), (1.05, 2), (1.10, 9))
    assert reached.positions == [5, 5, 9]
    assert reached.first(4) == 1.0


def test_lags_match_events_by_id_through_the_store_log() -> None:
    published = {"a": 10.0, "b": 10.0, "c": 10.5, "lost": 10.5}
    log = [(1, "warm-up"), (2, "b"), (3, "a"), (4, "c")]  # recorded in another order than published
    lag = lags(published, log, polled((10.2, 2), (10.6, 3), (11.0, 3)))
    assert lag.published_at == [10.0, 10.0]
    assert lag.seconds == pytest.approx([0.2, 0.6])
    assert lag.unseen == 2  # "c" never reached, "lost" never recorded


def test_summary_gives_nearest_rank_percentiles_in_milliseconds() -> None:
    line = summary([i / 1000 for i in range(1, 101)])
    assert line == "n=100 p50 50 ms, p90 90 ms, p99 99 ms, max 100 ms"
    assert summary([]) == "no event"


def test_a_level_lag_is_bounded_and_a_growing_one_is_not() -> None:
    times = [t / 10 for t in range(1000)]  # 100 s of publishing
    level = Lags(times, [0.2 + 0.1 * (i % 3) for i in range(1000)], 0)
    growing = Lags(times, [0.2 + 0.05 * t for t in times], 0)  # the pipeline keeps up with 95 % of the rate
    assert slope(growing) == pytest.approx(0.05)
    assert bounded(level, 0.0, 100.0)[1]
    text, ok = bounded(growing, 0.0, 100.0)
    assert not ok and text.endswith("GROWING")


def test_the_paced_publisher_sends_the_generated_touchpoints_with_fresh_ids() -> None:
    events = touchpoints(2005, 3)
    expected = [touchpoint(i, "hotline", customers=CUSTOMERS) for i in range(2005, 2008)]
    assert [e | {"event_id": ""} for e in events] == [e | {"event_id": ""} for e in expected]
    assert len({e["event_id"] for e in events}) == 3
