"""Instants as UTC epoch microseconds: exact integer arithmetic on aware datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.instants import EPOCH, MICROSECOND, epoch_us, from_epoch_us

pytestmark = pytest.mark.unit

OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))


@given(at=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zone=OFFSETS)
def test_epoch_us_is_the_exact_count_of_microseconds_since_the_epoch(at: datetime, zone: timezone) -> None:
    aware = at.replace(tzinfo=zone)
    assert epoch_us(aware) == (aware - EPOCH) // MICROSECOND
    assert from_epoch_us(epoch_us(aware)) == aware


def test_epoch_us_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        epoch_us(datetime(2026, 1, 1))
