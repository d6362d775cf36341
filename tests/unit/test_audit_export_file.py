"""The export file's verifier on files built in memory: an intact file verifies; a changed byte, a dropped, moved
or appended line, a wrong key or a cut-short file fail naming the first bad line."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts import to_canonical_json
from domain.audit.checkpoint import CheckpointStatement, parse_statement, sign, trusted_keys
from domain.audit.export import (
    ExportReason,
    canonical_json,
    encode_line,
    event_line,
    header,
    trailer,
    verify_export,
)
from domain.audit.hashing import LogRow, event_hash, link
from domain.audit.tree import EventHashTree
from tests.support.builders import call_received

pytestmark = pytest.mark.unit
KEY = Ed25519PrivateKey.generate()
TRUSTED = trusted_keys(KEY.public_key())
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MINE = (2, 3, 5, 8)  # the exported customer's positions in a log of 9


def log(count: int = 9) -> list[LogRow]:
    rows = []
    for position in range(1, count + 1):
        event = call_received(occurred_at=T0, customer={"phone": f"+86 138 0013 {position:04d}"})
        rows.append(LogRow(position, event.event_id, "touchline:call.received@v1", to_canonical_json(event)))
    return rows


def export(rows: list[LogRow], mine: tuple[int, ...] = MINE) -> list[bytes]:
    """What services.application.audit.export writes, built here without a database."""
    links, previous = [], None
    for row in rows:
        previous = link(row, previous)
        links.append(previous)
    tree = EventHashTree(item.event_hash for item in links)
    statement = CheckpointStatement(1, len(rows), rows[-1].position, tree.get_root(), links[-1].chain_hash, T0)
    signed = sign(statement, KEY)
    published = {"seq": 1, "tree_size": len(rows), "last_position": rows[-1].position,
                 "root_hash": statement.root_hash.hex(), "chain_head": statement.chain_head.hex(),
                 "statement": statement.to_bytes().decode(), "signature": base64.b64encode(signed.signature).decode(),
                 "key_id": signed.key_id}
    lines = [encode_line(header("customer-1", T0, published, KEY.public_key()))]
    for number, position in enumerate(mine, start=2):
        chained = links[position - 1]
        proof = tree.prove_inclusion(chained.leaf_index, len(rows)).serialize()
        lines.append(encode_line(event_line(number, rows[position - 1], chained, proof)))
    digest = hashlib.sha256(b"".join(lines)).hexdigest()
    return [*lines, encode_line(trailer(len(lines) + 1, len(mine), digest))]


def test_an_intact_export_verifies_with_the_trusted_key() -> None:
    verdict = verify_export(export(log()), TRUSTED)
    assert verdict.ok, verdict.finding
    assert (verdict.lines, verdict.events, verdict.customer_id, verdict.checkpoint) == (6, 4, "customer-1", 1)


def test_event_lines_carry_the_stored_event_and_hashes_a_reader_can_recompute() -> None:
    rows = log()
    line = orjson.loads(export(rows)[1])
    stored = rows[1].state
    assert line["event"] == orjson.loads(stored) and "state" not in line
    assert orjson.dumps(line["event"], option=orjson.OPT_SORT_KEYS) == stored
    assert line["state_sha256"] == hashlib.sha256(stored).hexdigest()
    assert (line["position"], line["leaf_index"], line["proof"]["path"][0]) == (2, 2, line["event_hash"])


@pytest.mark.parametrize("dropped", range(1, 7))
def test_dropping_any_line_is_named_where_it_happened(dropped: int) -> None:
    lines = export(log())
    del lines[dropped - 1]
    finding = verify_export(lines, TRUSTED).finding
    assert finding is not None and finding.line == dropped
    expected = {1: ExportReason.BAD_HEADER, 6: ExportReason.TRUNCATED}.get(dropped, ExportReason.OUT_OF_SEQUENCE)
    assert finding.reason == expected


def test_every_single_byte_change_in_an_event_line_fails_naming_that_line_or_the_trailer() -> None:
    lines = export(log())
    target = lines[2]  # position 3
    start = target.index(b'"event":{') + len(b'"event":{')
    for offset in range(len(target) - 1):  # all but the newline
        changed = bytearray(target)
        changed[offset] = ord("0") if changed[offset] != ord("0") else ord("1")
        finding = verify_export([*lines[:2], bytes(changed), *lines[3:]], TRUSTED).finding
        assert finding is not None, offset
        assert finding.line in (3, 6), (offset, finding)
        if start <= offset < target.index(b"}", target.index(b'"payload"')):  # inside the stored event
            assert (finding.line, finding.reason) in {(3, ExportReason.HASH_MISMATCH), (3, ExportReason.MALFORMED)}


def test_a_reencoded_but_equivalent_line_is_not_canonical() -> None:
    lines = export(log())
    lines[2] = orjson.dumps(orjson.loads(lines[2]), option=orjson.OPT_INDENT_2).replace(b"\n", b" ") + b"\n"
    finding = verify_export(lines, TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (3, ExportReason.MALFORMED)


def test_a_forged_event_with_recomputed_hashes_fails_its_proof() -> None:
    rows = log()
    lines = export(rows)
    forged = orjson.loads(lines[3])
    forged["event"]["payload"]["direction"] = "outbound"
    state = orjson.dumps(forged["event"], option=orjson.OPT_SORT_KEYS)
    forged["state_sha256"] = hashlib.sha256(state).hexdigest()
    forged["event_hash"] = event_hash(LogRow(5, uuid.UUID(forged["event_id"]), forged["topic"], state)).hex()
    lines[3] = encode_line(forged)
    finding = verify_export(lines, TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (4, ExportReason.BAD_PROOF)


def test_a_wrong_key_fails_on_the_header() -> None:
    finding = verify_export(export(log()), trusted_keys(Ed25519PrivateKey.generate().public_key())).finding
    assert finding is not None and (finding.line, finding.reason) == (1, ExportReason.BAD_SIGNATURE)


def test_moved_and_appended_lines_are_named() -> None:
    lines = export(log())
    swapped = [lines[0], lines[2], lines[1], *lines[3:]]
    finding = verify_export(swapped, TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (2, ExportReason.OUT_OF_SEQUENCE)
    finding = verify_export([*lines, lines[1]], TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (7, ExportReason.AFTER_TRAILER)


def test_an_empty_file_is_truncated_at_line_1() -> None:
    finding = verify_export([], TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (1, ExportReason.TRUNCATED)


def test_stored_bytes_that_do_not_reencode_exactly_are_carried_verbatim_and_verify() -> None:
    rows = log()
    spaced = orjson.dumps(orjson.loads(rows[4].state), option=orjson.OPT_INDENT_2)  # position 5, not canonical
    rows[4] = LogRow(5, rows[4].event_id, rows[4].topic, spaced)
    lines = export(rows)
    assert orjson.loads(lines[3])["state"] == spaced.decode()
    assert verify_export(lines, TRUSTED).ok


def with_readable(lines: list[bytes], readable: object) -> list[bytes]:
    """`lines` with a readable copy added to every event line (as services.application.audit.export writes it) and the
    trailer's digest recomputed: `readable` itself, or what it makes of the line's recorded event if callable."""
    out = [lines[0]]
    for raw in lines[1:-1]:
        line = orjson.loads(raw)
        out.append(encode_line(line | {"readable": readable(line["event"]) if callable(readable) else readable}))
    tail = orjson.loads(lines[-1])
    return [*out, encode_line(trailer(tail["line"], tail["events"], hashlib.sha256(b"".join(out)).hexdigest()))]


def sealed_log(count: int = 9) -> list[LogRow]:
    """The log of `log()` as a sealing store records it: each phone a sealed value (a token)."""
    rows = []
    for row in log(count):
        document = orjson.loads(row.state)
        document["customer"]["phone"] = f"sealed:v1:key-{row.position}:bm9uY2UgYW5kIGNpcGhlcnRleHQ"
        rows.append(LogRow(row.position, row.event_id, row.topic, canonical_json(document)))
    return rows


def opened(event: dict[str, Any]) -> dict[str, Any]:
    """What opening a sealed event shows: the phone in clear."""
    return event | {"customer": {"phone": "+86 138 0013 0002"}}


def erased(event: dict[str, Any]) -> dict[str, Any]:
    """What opening an erased customer's event shows: the reference as a pseudonymous customer number."""
    return event | {"customer": {"customer_number": "erased-7f3a"}}


def test_event_line_carries_the_readable_copy_only_when_given() -> None:
    rows = log()
    chained = link(rows[0], None)
    proof = EventHashTree([chained.event_hash]).prove_inclusion(1, 1).serialize()
    readable = {"event_id": str(rows[0].event_id), "customer": {"phone": "+8613800138000"}}
    assert event_line(2, rows[0], chained, proof, readable)["readable"] == readable
    assert "readable" not in event_line(2, rows[0], chained, proof)
    without = event_line(2, rows[0], chained, proof)
    assert {k: v for k, v in event_line(2, rows[0], chained, proof, readable).items() if k != "readable"} == without


@pytest.mark.parametrize("rows, readable", [(log(), lambda event: event), (sealed_log(), opened),
                                            (sealed_log(), erased)], ids=["clear", "opened", "erased"])
def test_a_readable_copy_that_only_opens_sealed_values_verifies_and_proofs_ignore_it(
        rows: list[LogRow], readable: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    plain = export(rows)
    lines = with_readable(plain, readable)
    assert all("readable" in orjson.loads(line) for line in lines[1:-1])
    verdict = verify_export(lines, TRUSTED)
    assert verdict.ok, verdict.finding
    assert verdict.events == 4
    for before, after in zip(plain[1:-1], lines[1:-1], strict=True):  # the evidence is unchanged
        assert {k: v for k, v in orjson.loads(after).items() if k != "readable"} == orjson.loads(before)


@pytest.mark.parametrize("rows, readable, where", [
    (sealed_log(), lambda event: opened(event) | {"occurred_at": "2026-11-02T10:00:00Z"}, "occurred_at"),
    (sealed_log(), lambda event: opened(event) | {"note": "added"}, "note"),
    (sealed_log(), lambda event: {k: v for k, v in opened(event).items() if k != "source"}, "source"),
    (sealed_log(), lambda event: opened(event) | {"source": event["source"] | {"agent": "someone else"}},
     "source.agent"),
    (sealed_log(), lambda event: opened(event) | {"customer": {"phone": 13800130002}}, "customer"),
    (log(), lambda event: event | {"customer": {"phone": "+86 138 0013 9999"}}, "customer.phone"),
], ids=["changed", "added", "left-out", "nested", "not-text", "clear-value"])
def test_a_readable_copy_that_departs_from_the_record_where_nothing_is_sealed_is_named(
        rows: list[LogRow], readable: Callable[[dict[str, Any]], dict[str, Any]], where: str) -> None:
    finding = verify_export(with_readable(export(rows), readable), TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (2, ExportReason.READABLE_DIFFERS)
    assert f"at {where}," in finding.detail


@pytest.mark.parametrize("readable", [None, "text", 1, ["a", "list"], True])
def test_a_readable_copy_that_is_not_an_object_is_malformed(readable: object) -> None:
    lines = with_readable(export(log()), readable)
    finding = verify_export(lines, TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (2, ExportReason.MALFORMED)
    assert "readable" in finding.detail


def test_a_line_without_readable_still_verifies() -> None:
    lines = export(sealed_log())  # as written before `readable` existed
    assert not any("readable" in orjson.loads(line) for line in lines)
    assert verify_export(lines, TRUSTED).ok
    mixed = with_readable(lines, opened)
    mixed[2] = lines[2]  # one event line without it, the others with it
    mixed[-1] = encode_line(trailer(6, 4, hashlib.sha256(b"".join(mixed[:-1])).hexdigest()))
    assert verify_export(mixed, TRUSTED).ok


def test_an_edited_opened_value_is_caught_by_the_trailer_digest_only() -> None:
    lines = with_readable(export(sealed_log()), opened)
    edited = list(lines)
    edited[1] = edited[1].replace(b"+86 138 0013 0002", b"+86 138 0013 9999")
    assert edited[1] != lines[1]
    finding = verify_export(edited, TRUSTED).finding
    assert finding is not None and (finding.line, finding.reason) == (6, ExportReason.BAD_TRAILER)


def test_a_checkpoint_statement_parses_back_only_from_its_exact_text() -> None:
    statement = CheckpointStatement(3, 10, 12, bytes(range(32)), bytes(32), T0)
    assert parse_statement(statement.to_bytes()) == statement
    with pytest.raises(ValueError):
        parse_statement(statement.to_bytes().replace(b"\n12\n", b"\n012\n"))
