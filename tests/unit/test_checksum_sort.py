"""Checksums sort their lines in bounded memory: runs spilled to disk and merged give the in-memory order."""

from __future__ import annotations

import hashlib
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.checksum import lines_checksum, row_line, sorted_lines

pytestmark = pytest.mark.unit

# canonical lines hold no newline; lone surrogates and any other text may occur
lines = st.text(st.characters(blacklist_characters="\n"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(lines, max_size=40), st.integers(min_value=1, max_value=30))
def test_spilled_runs_merge_into_the_in_memory_order(found: list[str], run: int) -> None:
    with sorted_lines(found, run=run) as (count, ordered):
        assert (count, list(ordered)) == (len(found), sorted(found))


def test_lines_beyond_one_run_are_sorted_on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    spills: list[object] = []
    real = tempfile.TemporaryFile

    def counted(*args: object, **kwargs: object) -> object:
        spills.append(real(*args, **kwargs))  # type: ignore[call-overload]
        return spills[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", counted)
    found = [f"line {n % 7} {n:02}" for n in range(25, 0, -1)]  # 9 characters each
    with sorted_lines(found, run=90) as (count, ordered):
        assert (count, list(ordered)) == (25, sorted(found))
    assert len(spills) == 3  # runs of 10, 10 and 5
    assert all(spill.closed for spill in spills)  # type: ignore[attr-defined]


def test_a_checksum_is_sha256_over_the_position_and_each_tables_sorted_lines() -> None:
    rows = [{"id": n, "text": f"é{n}\u2028"} for n in range(30, 0, -1)]
    expected = hashlib.sha256(b"position:9\nt:30\n" + b"".join(
        f"{line}\n".encode() for line in sorted(map(row_line, rows)))).hexdigest()
    assert lines_checksum(9, [("t", map(row_line, rows))]) == expected
    with sorted_lines(map(row_line, rows), run=100) as (count, ordered):
        assert (count, list(ordered)) == (30, sorted(map(row_line, rows)))
