"""Deterministic checksums of read models: the position and every row of every table, in a canonical order."""

from __future__ import annotations

import functools
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
    if _PLAIN.issuperset(map(type, data.values())):
        plain = data if _STR.issuperset(map(type, data)) else _with_plain_names(data)
        if plain is not None:
            try:  # (a str: orjson's bytes over-allocate)
                return orjson.dumps(plain, option=orjson.OPT_SORT_KEYS).decode()
            except orjson.JSONEncodeError:  # an integer beyond 64 bits
                pass
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _with_plain_names(data: dict[Any, Any]) -> dict[str, Any] | None:
    """`data` with its keys as plain strings (None if one is not a string at all): column names come as str
    subclasses, which json writes as their text and orjson refuses. A table's rows share their names, so each
    tuple of names is converted once."""
    names = _plain_names(tuple(data))
    return None if names is None else dict(zip(names, data.values(), strict=True))


@functools.lru_cache(maxsize=1024)
def _plain_names(names: tuple[Any, ...]) -> tuple[str, ...] | None:
    if not all(isinstance(name, str) for name in names):
        return None
    return tuple(str.__str__(name) for name in names)


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
