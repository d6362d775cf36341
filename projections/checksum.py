"""Deterministic checksums of read models: the position and every row of every table, in a canonical order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

Table = tuple[str, Iterable[Mapping[str, Any]]]

_PLAIN = frozenset({str, int, bool, type(None)})  # values orjson writes exactly as the json module does
_STR = frozenset({str})


def row_line(row: Mapping[str, Any]) -> str:
    """A row as canonical JSON (sorted keys, no spaces): equal rows give equal lines on every backend.

    The text of `json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`; orjson writes it
    (several times faster) when every key is a string and every value a string, an integer of 64 bits, a boolean
    or None, all of which it writes identically."""
    data = dict(row)
    if _PLAIN.issuperset(map(type, data.values())) and all(isinstance(key, str) for key in data):
        plain = data if _STR.issuperset(map(type, data)) else {str.__str__(k): v for k, v in data.items()}
        try:  # (column names come as str subclasses, which json writes as their text and orjson refuses)
            return orjson.dumps(plain, option=orjson.OPT_SORT_KEYS).decode()  # (a str: orjson's bytes over-allocate)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits
            pass
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def checksum(position: int, tables: Iterable[Table]) -> str:
    """sha256 over the position and each table's rows sorted by their canonical lines (storage order ignored)."""
    digest = hashlib.sha256(f"position:{position}\n".encode())
    for name, rows in tables:
        lines = sorted(row_line(row) for row in rows)
        digest.update(f"{name}:{len(lines)}\n".encode())
        for line in lines:
            digest.update(line.encode())
            digest.update(b"\n")
    return digest.hexdigest()
