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

import orjson

from domain.cases.model import CaseState

Decoder = Callable[[Any], Any]
Converter = Callable[[Any], Any]


def to_data(value: Any) -> Any:
    """Plain JSON data of a frozen dataclass tree: datetimes as ISO 8601 (offset kept), enums as values."""
    kind: type = type(value)  # a class is hashable; mypy checks `type[Any]` against Hashable as an instance
    return _converter(kind)(value)


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, characters kept as given: equal data gives equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(state: CaseState) -> str:
    """The state as canonical JSON.

    Fast path: orjson writes exactly what `canonical_json` writes for str-keyed dicts, lists, strings, booleans,
    None and 64-bit integers (keys sorted by code point either way), several times faster. `_plain` converts the
    state refusing anything else (a float, whose text differs between the two), and a refusal or an integer
    orjson cannot write takes the json module instead."""
    try:
        return orjson.dumps(_plain(state), option=orjson.OPT_SORT_KEYS).decode()
    except (_NotPlain, orjson.JSONEncodeError):
        return canonical_json(to_data(state))


class _NotPlain(TypeError):
    """A value orjson might write differently from the json module."""


def _plain(value: Any) -> Any:
    kind: type = type(value)  # see to_data
    return _strict_converter(kind)(value)


@cache
def _converter(kind: type[Any]) -> Converter:
    """How `to_data` turns a value of exactly this type into plain data (decided once per type)."""
    if is_dataclass(kind):
        names = tuple(f.name for f in fields(kind))
        return lambda value: {name: to_data(getattr(value, name)) for name in names}
    if issubclass(kind, datetime):
        return kind.isoformat
    if issubclass(kind, Enum):
        return _enum_value
    if issubclass(kind, tuple):
        return lambda value: [to_data(item) for item in value]
    return _identity


@cache
def _strict_converter(kind: type[Any]) -> Converter:
    """As `_converter`, but only for values that orjson and json write identically (`_NotPlain` otherwise)."""
    if is_dataclass(kind):
        return _dataclass_converter(tuple(f.name for f in fields(kind)))
    if issubclass(kind, datetime):
        return kind.isoformat
    if issubclass(kind, Enum):
        return _plain_enum_value
    if issubclass(kind, tuple):
        return lambda value: [item if type(item) in _SCALARS else _plain(item) for item in value]
    if kind in _SCALARS:
        return _identity
    return _refuse


_SCALARS = frozenset({str, int, bool, type(None)})  # written as they are (the others through `_plain`)


def _dataclass_converter(names: tuple[str, ...]) -> Converter:
    """`{name: _plain(value.name) for name in names}`, as one function generated for the class (a state is
    encoded on every batch that changes it): its scalar fields are taken as they are, without a call each."""
    lines = ["def convert(value):"]
    lines += [f"    v{index} = value.{name}" for index, name in enumerate(names)]
    items = ", ".join(f"{name!r}: v{index} if type(v{index}) in _SCALARS else _plain(v{index})"
                      for index, name in enumerate(names))
    lines.append(f"    return {{{items}}}")
    namespace: dict[str, Any] = {"_SCALARS": _SCALARS, "_plain": _plain}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the class's own field names
    converter: Converter = namespace["convert"]
    return converter


def _enum_value(value: Enum) -> Any:
    return value.value


def _plain_enum_value(value: Enum) -> Any:
    return _plain(value.value)


def _refuse(value: Any) -> Any:
    raise _NotPlain(type(value).__name__)


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
