"""Deterministic checksums of read models: the position and every row of every table, in a canonical order."""

from __future__ import annotations

import hashlib
import heapq
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from itertools import chain
from typing import Any, TextIO

import orjson

Table = tuple[str, Iterable[Mapping[str, Any]]]

_PLAIN = frozenset({str, int, bool, type(None)})  # values orjson writes exactly as the json module does
_STR = frozenset({str})
SORT_RUN = 8_000_000  # characters of lines a checksum sorts in memory: beyond, it sorts runs on disk and merges them


def row_line(row: Mapping[str, Any]) -> str:
    """A row as canonical JSON (sorted keys, no spaces): equal rows give equal lines on every backend.

    The text of `json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`; orjson writes it
    (several times faster) when every key is a plain string and every value a string, an integer of 64 bits, a
    boolean or None, all of which it writes identically. (Column names that come as str subclasses, which orjson
    refuses, take the json module: `sqlstore.table_rows` gives plain names.)"""
    data = dict(row)
    if _PLAIN.issuperset(map(type, data.values())) and _STR.issuperset(map(type, data)):
        try:  # (a str: orjson's bytes over-allocate)
            return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # an integer beyond 64 bits
            pass
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def checksum(position: int, tables: Iterable[Table]) -> str:
    """sha256 over the position and each table's rows sorted by their canonical lines (storage order ignored)."""
    return lines_checksum(position, ((name, (row_line(row) for row in rows)) for name, rows in tables))


def lines_checksum(position: int, tables: Iterable[tuple[str, Iterable[str]]]) -> str:
    """`checksum` from each row's canonical line already made: sha256 over `position:<p>`, then per table
    `<name>:<count>` and its lines in sorted order, each ending in a newline."""
    digest = hashlib.sha256(f"position:{position}\n".encode())
    for name, lines in tables:
        with sorted_lines(lines) as (count, ordered):
            digest.update(f"{name}:{count}\n".encode())
            for line in ordered:
                digest.update(line.encode())
                digest.update(b"\n")
    return digest.hexdigest()


@contextmanager
def sorted_lines(lines: Iterable[str], run: int = SORT_RUN) -> Iterator[tuple[int, Iterator[str]]]:
    """(how many, the lines in sorted order), holding about `run` characters of lines whatever their number:
    beyond one run, each run is sorted and written to a temporary file, and the files are merged (an external
    merge sort). Lines hold no newline (canonical JSON escapes it); lone surrogates pass through the files."""
    runs = _runs(lines, run)
    first = next(runs, [])
    following = next(runs, None)
    if following is None:
        first.sort()
        yield len(first), iter(first)
        return
    with ExitStack() as files:
        count, spilled = 0, list[TextIO]()
        for chunk in chain((first, following), runs):
            chunk.sort()
            spill = files.enter_context(tempfile.TemporaryFile(
                "w+", encoding="utf-8", errors="surrogatepass", newline="\n"))
            spill.writelines(f"{line}\n" for line in chunk)
            spill.seek(0)
            spilled.append(spill)
            count += len(chunk)
            del chunk[:]
        yield count, heapq.merge(*((line[:-1] for line in spill) for spill in spilled))


def _runs(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    """`lines` in consecutive lists of at least `size` characters (the last one possibly fewer)."""
    chunk: list[str] = []
    held = 0
    for line in lines:
        chunk.append(line)
        held += len(line)
        if held >= size:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk
