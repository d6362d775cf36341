"""Wire codec: parse incoming data into the right event model, write canonical JSON, pick the Kafka key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contracts.envelope import Envelope
from contracts.errors import FieldError, InvalidEvent
from contracts.registry import EVENT_TYPES

_KNOWN_TYPES = sorted({event_type for event_type, _ in EVENT_TYPES})


def parse(data: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> Envelope:
    """Validate `data` (JSON text or an already decoded object) as the event model its type and version name.

    Raises `InvalidEvent` listing every problem, each with a dotted location.
    """
    document = _decode(data) if isinstance(data, bytes | bytearray | memoryview | str) else data
    if not isinstance(document, Mapping):
        raise InvalidEvent([FieldError("", "an event must be a JSON object", "object_type")])
    model = _model_for(document)
    try:
        return model.model_validate(dict(document))
    except ValidationError as exc:
        raise InvalidEvent(field_errors(exc.errors())) from exc


def to_canonical_json(envelope: Envelope) -> bytes:
    """UTF-8 JSON with sorted keys and no null fields; `parse(to_canonical_json(e)) == e`."""
    return orjson.dumps(envelope.model_dump(mode="json", exclude_none=True), option=orjson.OPT_SORT_KEYS)


def partition_key(envelope: Envelope) -> bytes:
    """Kafka key: the case id (so a case's events stay ordered on one partition), else the event id."""
    return (envelope.case_id or str(envelope.event_id)).encode("utf-8")


def field_errors(errors: Iterable[ErrorDetails]) -> list[FieldError]:
    """pydantic error details -> `FieldError`s with dotted paths (`payload.items[2].perception`)."""
    return [
        FieldError(dotted(error["loc"]), error["msg"], error["type"])
        for error in errors
        if not _spurious(error)
    ]


def dotted(loc: Iterable[int | str]) -> str:
    """`("payload", "items", 2, "perception")` -> `"payload.items[2].perception"`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _spurious(error: ErrorDetails) -> bool:
    # pydantic-core checks a tuple's length on the items that validated, so one bad item in a long enough
    # tuple also yields "too_short"; the item's own error already says what is wrong.
    if error["type"] != "too_short" or not isinstance(error.get("input"), list | tuple):
        return False
    return len(error["input"]) >= error.get("ctx", {}).get("min_length", 0)


def _decode(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent([FieldError("", f"invalid JSON: {exc}", "json_invalid")]) from exc


def _model_for(document: Mapping[str, Any]) -> type[Envelope]:
    event_type = document.get("event_type")
    if event_type is None:
        raise InvalidEvent([FieldError("event_type", "Field required", "missing")])
    if not isinstance(event_type, str) or event_type not in _KNOWN_TYPES:
        shown = repr(event_type)[:80]
        message = f"unknown event type {shown}; known types: {', '.join(_KNOWN_TYPES)}"
        raise InvalidEvent([FieldError("event_type", message, "unknown_event_type")])
    version = document.get("schema_version")
    if version is None:
        raise InvalidEvent([FieldError("schema_version", "Field required", "missing")])
    # `type(...) is int` keeps True (== 1 in Python) from passing as version 1.
    model = EVENT_TYPES.get((event_type, version)) if type(version) is int else None
    if model is None:
        known = sorted(v for t, v in EVENT_TYPES if t == event_type)
        message = f"unknown schema_version {repr(version)[:20]} for {event_type}; known: {known}"
        raise InvalidEvent([FieldError("schema_version", message, "unknown_schema_version")])
    return model
