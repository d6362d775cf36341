"""Deterministic checksums of read models: the position and every row of every table, in a canonical order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

Table = tuple[str, Iterable[Mapping[str, Any]]]


def row_line(row: Mapping[str, Any]) -> str:
    """A row as canonical JSON (sorted keys, no spaces): equal rows give equal lines on every backend."""
    return json.dumps(dict(row), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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
