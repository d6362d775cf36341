"""A customer's history as a self-proving JSON Lines file, and its verification with a trusted public key alone.

Line 1 is the header (the signed checkpoint the proofs are against), then one line per event in log order (the
stored record and its RFC 9162 inclusion proof), then the trailer (event count, SHA-256 of every line before it).
Each line is the canonical JSON of one object (sorted keys, no whitespace, UTF-8) followed by "\n" and names its
own line number, so a dropped, repeated or moved line is named where it happens and any edit that keeps the JSON
meaning still shows as a non-canonical line. See docs/audit.md, "Exporting a customer's history".

Evidence is what the signature and the proofs cover: the checkpoint statement and each event record (position,
event id, topic, stored bytes). `customer_id`, `generated_at`, `chain_hash`, the header's copy of the public key and
each event's `readable` copy (the event as touchline reads it: sealed values opened, an erased customer's as
pseudonyms) are labels; the trailer's digest, over every line's bytes, shows truncation and corruption of them too,
not forgery (anyone can recompute it).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.audit.checkpoint import (
    CheckpointStatement,
    SignedCheckpoint,
    key_id,
    parse_statement,
    raw_public_key,
    signature_valid,
)
from domain.audit.hashing import HASH_ALGORITHM, ChainLink, LogRow, event_hash
from domain.audit.tree import inclusion_proof_valid
from domain.privacy.sealing import is_token

FORMAT = "touchline.audit.export.v1"
SIGNATURE_ALGORITHM = "Ed25519"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 unescaped: the form events are stored in (contracts.to_canonical_json),
    so an event parsed from its stored bytes encodes back to exactly those bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def encode_line(obj: Mapping[str, Any]) -> bytes:
    return canonical_json(obj) + b"\n"


def header(customer_id: str, generated_at: datetime, checkpoint: Mapping[str, Any],
           public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Line 1. `checkpoint` is the checkpoint as published (its `statement` text is what is signed)."""
    return {"kind": "header", "line": 1, "format": FORMAT, "customer_id": customer_id,
            "generated_at": generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "hash_algorithm": HASH_ALGORITHM, "checkpoint": dict(checkpoint),
            "public_key": {"algorithm": SIGNATURE_ALGORITHM, "key_id": key_id(public_key),
                           "public_key": base64.b64encode(raw_public_key(public_key)).decode()}}


def event_line(line: int, row: LogRow, chained: ChainLink, proof: Mapping[str, Any],
               readable: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One event: the stored record, its chain link and its inclusion proof (pymerkle's JSON form).

    `event` is the stored JSON parsed; its canonical encoding is the stored bytes. Bytes that would not encode back
    exactly (never written by touchline, but possible in an old store) are carried verbatim in `state` as well.
    `readable`, when given, is the event as touchline reads it (the stored event opened: personal values in clear,
    an erased customer's as pseudonyms), for reading only: no hash or proof covers it."""
    event = orjson.loads(row.state)
    fields = {"kind": "event", "line": line, "position": row.position, "event_id": str(row.event_id),
              "topic": row.topic, "event": event, "state_sha256": hashlib.sha256(row.state).hexdigest(),
              "event_hash": chained.event_hash.hex(), "leaf_index": chained.leaf_index,
              "chain_hash": chained.chain_hash.hex(), "proof": dict(proof)}
    if canonical_json(event) != row.state:
        fields["state"] = row.state.decode()
    if readable is not None:
        fields["readable"] = dict(readable)
    return fields


def trailer(line: int, events: int, digest: str) -> dict[str, Any]:
    """The last line: `digest` is the SHA-256 (hex) of lines 1..line-1, each with its "\n" (the file's bytes
    before the trailer)."""
    return {"kind": "trailer", "line": line, "events": events, "sha256": digest}


_ABSENT = object()


def readable_differs(recorded: Any, readable: Any) -> str | None:
    """Where a readable copy departs from the recorded event other than by opening sealed values (None: nowhere).

    Opening may only: put any text where the record holds a sealed value (the value, or an erased customer's
    pseudonym), leave out a sealed payload value (an erased customer's copy of an identifier), and replace a
    customer reference holding sealed values by another reference of text values (an erased customer's
    pseudonymous customer number). Everything else must be equal, so only the sealed values are taken on trust."""
    return _differs("", recorded, readable)


def _differs(path: str, recorded: Any, shown: Any) -> str | None:
    if is_token(recorded):
        return None if shown is _ABSENT or isinstance(shown, str) else path
    if path == "customer" and isinstance(recorded, dict) and any(map(is_token, recorded.values())):
        return None if isinstance(shown, dict) and all(isinstance(v, str) for v in shown.values()) else path
    if isinstance(recorded, dict):
        if not isinstance(shown, dict):
            return path or "the event"
        for key in sorted(set(recorded) | set(shown)):
            where = f"{path}.{key}" if path else key
            if key not in recorded:
                return where
            if (found := _differs(where, recorded[key], shown.get(key, _ABSENT))) is not None:
                return found
        return None
    if isinstance(recorded, list):
        if not isinstance(shown, list) or len(shown) != len(recorded):
            return path
        for index, (item, shown_item) in enumerate(zip(recorded, shown, strict=True)):
            if (found := _differs(f"{path}[{index}]", item, shown_item)) is not None:
                return found
        return None
    return None if type(shown) is type(recorded) and shown == recorded else path


class ExportReason(StrEnum):
    MALFORMED = "malformed"  # not a canonical JSON object, or a field missing or of the wrong type
    BAD_HEADER = "bad header"  # no header first, an unknown format, or checkpoint fields that contradict the statement
    BAD_SIGNATURE = "bad signature"  # the checkpoint is not signed by a trusted key
    OUT_OF_SEQUENCE = "out of sequence"  # a line dropped, repeated or moved (line numbers, positions must ascend)
    HASH_MISMATCH = "hash mismatch"  # the event's bytes do not hash to the hashes its line states
    BAD_PROOF = "bad proof"  # the inclusion proof does not lead to the signed root
    TRUNCATED = "truncated"  # the file ends before its trailer
    BAD_TRAILER = "bad trailer"  # the trailer's count or digest differs from the lines before it
    AFTER_TRAILER = "after trailer"  # lines after the trailer
    READABLE_DIFFERS = "readable differs"  # the readable copy differs from the recorded event where nothing is sealed


@dataclass(frozen=True, slots=True)
class ExportFinding:
    line: int  # 1-based line of the file
    reason: ExportReason
    detail: str


@dataclass(frozen=True, slots=True)
class ExportVerdict:
    lines: int  # lines read
    events: int  # event lines verified
    customer_id: str | None
    checkpoint: int | None  # seq of the verified checkpoint
    finding: ExportFinding | None = None

    @property
    def ok(self) -> bool:
        return self.finding is None


def verify_export(lines: Iterable[bytes], keys: Mapping[str, Ed25519PublicKey]) -> ExportVerdict:
    """Check an export line by line (streaming) against `keys` (key id → trusted key; never the header's copy);
    stop at the first bad line. `lines` as read from the file in binary, with or without their "\n"."""
    reader = _Reader(keys)
    for number, raw in enumerate(lines, start=1):
        if (finding := reader.step(number, raw.removesuffix(b"\n"))) is not None:
            return reader.verdict(finding)
    return reader.verdict(reader.end())


class _Reader:
    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self.keys = dict(keys)
        self.digest = hashlib.sha256()
        self.lines = self.events = self.last_position = self.last_leaf = 0
        self.statement: CheckpointStatement | None = None
        self.customer_id: str | None = None
        self.finished = False

    def step(self, number: int, body: bytes) -> ExportFinding | None:
        self.lines = number
        if self.finished:
            return ExportFinding(number, ExportReason.AFTER_TRAILER, "a line after the trailer")
        obj, problem = _parse(body)
        if obj is None:
            return ExportFinding(number, ExportReason.MALFORMED, problem)
        try:
            problem_found = self._check(number, obj)
        except (KeyError, TypeError, ValueError) as exc:
            return ExportFinding(number, ExportReason.MALFORMED, f"missing or invalid field ({exc!r})")
        self.digest.update(body + b"\n")
        return problem_found

    def _check(self, number: int, obj: dict[str, Any]) -> ExportFinding | None:
        kind = obj["kind"]
        if number == 1 and kind != "header":
            return ExportFinding(1, ExportReason.BAD_HEADER, "the file does not start with a header")
        if obj["line"] != number:
            return ExportFinding(number, ExportReason.OUT_OF_SEQUENCE,
                                 f"line {number} says it is line {obj['line']}: a line was dropped, repeated or moved")
        check = {"header": self._header, "event": self._event, "trailer": self._trailer}.get(kind)
        if check is None or (kind == "header") != (number == 1):
            return ExportFinding(number, ExportReason.MALFORMED, f"unexpected line of kind {kind!r}")
        found = check(obj)
        return None if found is None else ExportFinding(number, *found)

    def _header(self, obj: dict[str, Any]) -> tuple[ExportReason, str] | None:
        if obj["format"] != FORMAT or obj["hash_algorithm"] != HASH_ALGORITHM:
            return ExportReason.BAD_HEADER, f"unknown format {obj['format']!r} / {obj['hash_algorithm']!r}"
        published = obj["checkpoint"]
        statement = parse_statement(published["statement"].encode())
        signed = SignedCheckpoint(statement, base64.b64decode(published["signature"], validate=True),
                                  published["key_id"])
        if not signature_valid(signed, self.keys):
            return ExportReason.BAD_SIGNATURE, (f"checkpoint {statement.seq} is not signed by a trusted key "
                                                f"(key id {signed.key_id})")
        if _stated(published) != _stated_by(statement):
            return ExportReason.BAD_HEADER, "the checkpoint's fields contradict its signed statement"
        self.statement, self.customer_id = statement, str(obj["customer_id"])
        return None

    def _event(self, obj: dict[str, Any]) -> tuple[ExportReason, str] | None:
        assert self.statement is not None  # line 1 is a verified header
        position, leaf_index = _positive(obj["position"]), _positive(obj["leaf_index"])
        if not isinstance(obj.get("readable", {}), dict):  # optional (older files); not evidence, so only its type
            return ExportReason.MALFORMED, f"the readable copy of position {position} is not a JSON object"
        if position <= self.last_position or leaf_index <= self.last_leaf:
            return ExportReason.OUT_OF_SEQUENCE, (f"position {position} (leaf {leaf_index}) does not follow "
                                                  f"position {self.last_position} (leaf {self.last_leaf})")
        state = _state(obj)
        if hashlib.sha256(state).hexdigest() != obj["state_sha256"]:
            return ExportReason.HASH_MISMATCH, f"the event at position {position} does not hash to its state_sha256"
        digest = event_hash(LogRow(position, UUID(obj["event_id"]), obj["topic"], state))
        if digest.hex() != obj["event_hash"]:
            return ExportReason.HASH_MISMATCH, f"the record at position {position} does not hash to its event_hash"
        statement = self.statement
        if not inclusion_proof_valid(obj["proof"], digest, statement.root_hash, leaf_index, statement.tree_size):
            return ExportReason.BAD_PROOF, (f"position {position} is not proven to be leaf {leaf_index} of "
                                            f"checkpoint {statement.seq}")
        if "readable" in obj and (where := readable_differs(orjson.loads(state), obj["readable"])) is not None:
            return ExportReason.READABLE_DIFFERS, (f"the readable copy of position {position} differs from the "
                                                   f"recorded event at {where}, where nothing is sealed")
        self.events, self.last_position, self.last_leaf = self.events + 1, position, leaf_index
        return None

    def _trailer(self, obj: dict[str, Any]) -> tuple[ExportReason, str] | None:
        if obj["events"] != self.events:
            return ExportReason.BAD_TRAILER, f"the trailer counts {obj['events']} events, the file holds {self.events}"
        if obj["sha256"] != self.digest.hexdigest():
            return ExportReason.BAD_TRAILER, ("the digest of the lines before the trailer differs: a label the "
                                              "signature does not cover (customer_id, chain_hash, ...) was changed")
        self.finished = True
        return None

    def end(self) -> ExportFinding | None:
        if self.finished:
            return None
        return ExportFinding(self.lines + 1, ExportReason.TRUNCATED,
                             "the file is empty" if self.lines == 0 else f"no trailer after line {self.lines}")

    def verdict(self, finding: ExportFinding | None) -> ExportVerdict:
        seq = self.statement.seq if self.statement is not None else None
        return ExportVerdict(self.lines, self.events, self.customer_id, seq, finding)


def _parse(body: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, "not JSON"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    if canonical_json(obj) != body:
        return None, "not in canonical form (sorted keys, no whitespace): changed after export"
    return obj, ""


def _state(obj: Mapping[str, Any]) -> bytes:
    """The stored bytes: `state` when carried verbatim (and then it must parse to `event`), else `event` encoded."""
    if "state" not in obj:
        return canonical_json(obj["event"])
    state = str(obj["state"]).encode()
    if orjson.loads(state) != obj["event"]:
        raise ValueError("state and event differ")
    return state


def _positive(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{value!r} is not a positive integer")
    return value


def _stated(published: Mapping[str, Any]) -> tuple[Any, ...]:
    return (published["seq"], published["tree_size"], published["last_position"], published["root_hash"],
            published["chain_head"])


def _stated_by(statement: CheckpointStatement) -> tuple[Any, ...]:
    return (statement.seq, statement.tree_size, statement.last_position, statement.root_hash.hex(),
            statement.chain_head.hex())


__all__ = ["FORMAT", "ExportFinding", "ExportReason", "ExportVerdict", "canonical_json", "encode_line",
           "event_line", "header", "trailer", "verify_export"]
