"""Compatibility of a changed JSON Schema with its published version: may events valid before be refused now?

A published (event_type, schema_version) is a promise to producers and to the stored history: every event
that validated against the published schema must still validate against the current one. So loosening is
fine (an optional property added, a limit raised, an enum value added) and tightening is not (a property
removed, a type changed, a property newly required, an enum value removed, a limit lowered, a pattern or
format changed). Anything this checker does not understand is reported too, so that an unknown change is
looked at rather than waved through.

One tightening is accepted deliberately: bounding an unbounded integer to the signed 64-bit range
(`minimum` -2^63, `maximum` 2^63-1). No plausible event holds a larger integer, and none larger could ever be
processed: the read models keep integers in 64-bit columns, so such an event stopped the projector rather than
being recorded as history. Instants are bounded the same way (1970..2200, offsets within ±14:00) by a validator
that leaves the schema's `format: date-time` unchanged; see contracts.fields.
"""

from __future__ import annotations

from typing import Any

import orjson

Schema = dict[str, Any]

_IGNORED = frozenset({"title", "description", "examples", "$id", "$schema", "$defs", "$comment"})
_HANDLED = frozenset(
    {
        "$ref",
        "anyOf",
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "default",
    }
)
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_EXACT = ("pattern", "format", "multipleOf", "uniqueItems", "contentEncoding")
_NULL: Schema = {"type": "null"}
_INT64_BOUNDS = {"minimum": -(2**63), "maximum": 2**63 - 1}


def check_compatibility(published: Schema, current: Schema) -> list[str]:
    """Problems that make `current` incompatible with `published` (an empty list means compatible)."""
    problems: list[str] = []
    _compare("", published, current, _Roots(published, current), problems)
    return problems


class _Roots:
    """The two documents, to resolve `#/$defs/...` references against the right one."""

    def __init__(self, old: Schema, new: Schema) -> None:
        self.old, self.new = old, new

    def resolve(self, node: Schema, *, old: bool) -> Schema:
        root = self.old if old else self.new
        seen = 0  # bounded: refs to refs are legal, a cycle is not worth looping on
        while "$ref" in node and seen < 32:
            target: Any = root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            seen += 1
        return node


def _compare(path: str, old: Schema, new: Schema, roots: _Roots, problems: list[str]) -> None:
    old, new = roots.resolve(old, old=True), roots.resolve(new, old=False)
    where = path or "<root>"
    if _split_nullable(old) is not None or _split_nullable(new) is not None:
        _compare_nullable(path, old, new, roots, problems)
        return
    if "anyOf" in old or "anyOf" in new:
        if _canonical(old.get("anyOf")) != _canonical(new.get("anyOf")):
            problems.append(f"{where}: alternatives (anyOf) changed")
        return
    _compare_types(where, old, new, problems)
    _compare_values(where, old, new, problems)
    _compare_bounds(where, old, new, problems)
    _compare_objects(path, old, new, roots, problems)
    if "items" in old or "items" in new:
        _compare(f"{path}[]", old.get("items", {}), new.get("items", {}), roots, problems)
    _compare_unknown(where, old, new, problems)


def _split_nullable(node: Schema) -> Schema | None:
    """`anyOf: [X, {"type": "null"}]` -> X (keeping the node's annotations); None if not nullable."""
    options = node.get("anyOf")
    if not isinstance(options, list) or _NULL not in options or len(options) != 2:
        return None
    other = next(option for option in options if option != _NULL)
    return {**{k: v for k, v in node.items() if k not in ("anyOf", "default")}, **other}


def _compare_nullable(path: str, old: Schema, new: Schema, roots: _Roots, problems: list[str]) -> None:
    where = path or "<root>"
    old_inner, new_inner = _split_nullable(old), _split_nullable(new)
    if old_inner is not None and new_inner is None:
        problems.append(f"{where}: null is no longer accepted")
    if "default" in old and old.get("default") != new.get("default"):
        problems.append(
            f"{where}: default changed from {_show(old['default'])} to {_show(new.get('default'))}"
        )
    old_node = old_inner if old_inner is not None else _without_default(old)
    new_node = new_inner if new_inner is not None else _without_default(new)
    _compare(path, old_node, new_node, roots, problems)


def _without_default(node: Schema) -> Schema:
    return {key: value for key, value in node.items() if key != "default"}


def _types(node: Schema) -> set[str] | None:
    declared = node.get("type")
    if declared is None:
        return None
    found = {declared} if isinstance(declared, str) else set(declared)
    return found | {"integer"} if "number" in found else found  # every integer is a number


def _compare_types(where: str, old: Schema, new: Schema, problems: list[str]) -> None:
    old_types, new_types = _types(old), _types(new)
    if new_types is not None and (old_types is None or not old_types <= new_types):
        problems.append(f"{where}: type changed from {_show(old.get('type'))} to {_show(new.get('type'))}")


def _compare_values(where: str, old: Schema, new: Schema, problems: list[str]) -> None:
    if "const" in new and old.get("const", _Missing) != new["const"]:
        problems.append(f"{where}: const changed from {_show(old.get('const'))} to {_show(new['const'])}")
    if "enum" in new:
        allowed = [_canonical(value) for value in new["enum"]]
        before = old.get("enum", [old["const"]] if "const" in old else None)
        if before is None:
            problems.append(f"{where}: now restricted to {_show(new['enum'])}")
            return
        removed = [value for value in before if _canonical(value) not in allowed]
        if removed:
            problems.append(f"{where}: enum value(s) removed: {_show(removed)}")
    if "default" in old and old.get("default") != new.get("default"):
        problems.append(
            f"{where}: default changed from {_show(old['default'])} to {_show(new.get('default'))}"
        )


def _compare_bounds(where: str, old: Schema, new: Schema, problems: list[str]) -> None:
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]) and not _int64_bound(key, old, new):
            problems.append(f"{where}: {key} tightened from {_show(old.get(key))} to {_show(new[key])}")
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]) and not _int64_bound(key, old, new):
            problems.append(f"{where}: {key} tightened from {_show(old.get(key))} to {_show(new[key])}")
    for key in _EXACT:
        if key in new and old.get(key) != new[key]:
            problems.append(f"{where}: {key} changed from {_show(old.get(key))} to {_show(new[key])}")


def _int64_bound(key: str, old: Schema, new: Schema) -> bool:
    """An unbounded integer newly bounded to the signed 64-bit range (accepted; see the module docstring)."""
    return key not in old and old.get("type") == "integer" and _INT64_BOUNDS.get(key) == new[key]


def _compare_objects(path: str, old: Schema, new: Schema, roots: _Roots, problems: list[str]) -> None:
    where = path or "<root>"
    old_props: Schema = old.get("properties", {})
    new_props: Schema = new.get("properties", {})
    for name, old_prop in old_props.items():
        child = f"{path}.{name}" if path else name
        if name not in new_props:
            problems.append(f"{child}: property removed")
        else:
            _compare(child, old_prop, new_props[name], roots, problems)
    newly_required = sorted(set(new.get("required", [])) - set(old.get("required", [])))
    for name in newly_required:
        child = f"{path}.{name}" if path else name
        problems.append(f"{child}: property is newly required")
    if new.get("additionalProperties") is False and old.get("additionalProperties", True) is not False:
        problems.append(f"{where}: additional properties are no longer allowed")


def _compare_unknown(where: str, old: Schema, new: Schema, problems: list[str]) -> None:
    known = _IGNORED | _HANDLED | set(_UPPER_BOUNDS) | set(_LOWER_BOUNDS) | set(_EXACT)
    for key in sorted((set(old) | set(new)) - known):
        if _canonical(old.get(key)) != _canonical(new.get(key)):
            problems.append(
                f"{where}: keyword {key!r} changed (not understood by the checker; review by hand)"
            )


class _Missing:
    """Sentinel for an absent `const`."""


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _show(value: Any) -> str:
    return "none" if value is None else orjson.dumps(value).decode()
