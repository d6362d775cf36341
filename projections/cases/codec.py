"""Canonical JSON of a case's state: what the SQL store keeps per case and the checksum hashes (lossless)."""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from domain.cases.model import CaseState

Decoder = Callable[[Any], Any]


def to_data(value: Any) -> Any:
    """Plain JSON data of a frozen dataclass tree: datetimes as ISO 8601 (offset kept), enums as values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [to_data(item) for item in value]
    return value


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, characters kept as given: equal data gives equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(state: CaseState) -> str:
    """The state as canonical JSON."""
    return canonical_json(to_data(state))


def decode(text: str) -> CaseState:
    """The state `encode` wrote (equal to the original)."""
    result: CaseState = _decoder(CaseState)(json.loads(text))
    return result


@cache
def _decoder(kind: Any) -> Decoder:
    """A function turning plain data back into a value of `kind` (dataclass, tuple, enum, datetime, optional)."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        inner = _decoder(next(arg for arg in get_args(kind) if arg is not type(None)))
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        item = _decoder(get_args(kind)[0])
        return lambda data: tuple(item(x) for x in data)
    if isinstance(kind, type) and is_dataclass(kind):
        return _dataclass_decoder(kind)
    if kind is datetime:
        return datetime.fromisoformat
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind
    return _identity


def _dataclass_decoder(cls: type[Any]) -> Decoder:
    hints = get_type_hints(cls)
    plan = [(f.name, _decoder(hints[f.name])) for f in fields(cls)]
    return lambda data: cls(**{name: decode_field(data[name]) for name, decode_field in plan})


def _identity(data: Any) -> Any:
    return data
