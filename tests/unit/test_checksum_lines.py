"""The fast checksum lines (orjson) are byte for byte the canonical JSON of the json module, whatever the values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.sql.elements import quoted_name

from domain.cases import CaseState, Handoff, Statement
from projections.cases.codec import canonical_json, encode, to_data
from projections.cases.rows import line_of
from projections.checksum import row_line

pytestmark = pytest.mark.unit

values = st.one_of(
    st.none(), st.booleans(), st.text(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)


def reference(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), values, max_size=8))
def test_a_row_line_is_the_json_modules_canonical_text(row: dict[str, object]) -> None:
    assert row_line(row).encode() == reference(row)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=8))
def test_a_case_row_line_is_the_json_modules_canonical_text(row: list[object]) -> None:
    assert line_of(row).encode() == reference(row) == canonical_json(row).encode()


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(), st.integers(min_value=0, max_value=2**63 - 1))
def test_a_case_state_encodes_as_the_json_module_writes_it(subject: str, note: str, position: int) -> None:
    at = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    state = CaseState(case_id="C\x00\u2028\U0001f600", subject=subject, last_position=position, opened_at=at,
                      statements=(Statement(at, "loan", "web", "note", note),),
                      handoffs=(Handoff(1, position, "e", "loan", "card", note, subject, at, "inquiry", "high",
                                        False),))
    assert encode(state) == canonical_json(to_data(state))


def test_column_names_as_str_subclasses_are_written_as_their_text() -> None:
    row: dict[str, object] = {quoted_name("b", None): 1, quoted_name("a", True): "x", quoted_name("c", False): None}
    assert row_line(row).encode() == reference(row) == b'{"a":"x","b":1,"c":null}'


def test_big_integers_and_floats_take_the_json_module() -> None:
    row = {"big": 2**64, "float": 1e16, "text": "\x1f\u00e9"}
    assert row_line(row).encode() == reference(row) and "1e+16" in row_line(row)
    assert line_of([2**64, 0.1]).encode() == reference([2**64, 0.1])
