"""The event catalogue (docs/events.md), rendered from the models so that the documentation cannot drift."""

from __future__ import annotations

import inspect
from typing import Any

import orjson

from contracts.envelope import CustomerRef, Envelope, Source
from contracts.fields import INT64_MAX
from contracts.registry import EVENT_CLASSES
from contracts.schemas import json_schema

Schema = dict[str, Any]

_HEADER = """\
# Touchline event catalogue (v1)

<!-- Generated from the contracts package by contracts.catalogue.render_catalogue(); do not edit by hand.
     Regenerate with `make docs`. -->

Every touchpoint is recorded as one immutable event: an **envelope** (who, about whom, about which case)
around a typed **payload**. Event types are named `area.past_tense_fact` and versioned by `schema_version`;
a published version only ever changes compatibly (new optional fields, looser limits), anything else is a new
version. The JSON Schema of every type is in `contracts/published/v<version>/<event_type>.json`.
"""

_KAFKA = """\
## Kafka

| | |
|---|---|
| Topic | `touchline.events.v1` |
| Key | `partition_key(envelope)`: the `case_id` if any, else the `event_id` (UTF-8); a case stays in order |
| Value | the canonical JSON envelope: UTF-8, sorted keys, null fields left out (`to_canonical_json`) |
| Headers | `event-type`, `schema-version`, `content-type: application/json` |
| Dead letters | `touchline.events.dlq.v1`, headers `dlq-reason`, `dlq-errors` (JSON list of FieldError), \
`source-topic`, `source-partition`, `source-offset` |

Producers may send every event type below except touchline's own (`sla.*`, `privacy.*`), which only
touchline's processes record: `POST /v1/events` answers 403 and the recorder dead-letters them
(`dlq-reason: internal event type`). An `event_id` names one fact: an identical resend is stored once, a
different event under a used id is refused (409; dead letter `event_id conflict`).

A rejected event is described by a list of `FieldError {loc, message, type}`; `loc` is a dotted path such as
`payload.items[2].perception` or `source.department` (empty for the document as a whole). Messages never
echo the input value.
"""


_BOUNDS = """\
## Bounds

Every value is bounded so that no accepted event can break a reader: text by length (as listed); integers to
the signed 64-bit range (listed as *64-bit*); instants (date-time) from `1970-01-01T00:00Z` and before
`2200-01-01T00:00Z`, with a UTC offset that is a whole number of minutes within `-14:00`..`+14:00`; dates
within the years 1970-2199. Anything outside is refused with the field's path (`datetime_range`,
`timezone_offset_range`, `date_range`, `less_than_equal`).
"""


_ENVELOPE_TYPES = {
    "event_type": "string (the event type, below)",
    "schema_version": "integer (the type's version, below)",
    "payload": "object (per event type, below)",
}


def render_catalogue() -> str:
    """The Markdown catalogue: envelope, Kafka conventions, then every event type with fields and example."""
    sections = [_HEADER, _envelope_section(), _BOUNDS, _KAFKA, _index()]
    sections += [_event_section(model) for model in EVENT_CLASSES]
    return "\n".join(sections)


def _envelope_section() -> str:
    envelope = Envelope.model_json_schema(mode="validation")
    lines = ["## Envelope", "", _doc(Envelope), ""]
    lines += _field_table(envelope, envelope["$defs"], types=_ENVELOPE_TYPES)
    for model in (Source, CustomerRef):
        schema = envelope["$defs"][model.__name__]
        lines += ["", f"### {model.__name__}", "", _doc(model), ""]
        lines += _field_table(schema, envelope["$defs"])
    return "\n".join(lines) + "\n"


def _index() -> str:
    lines = ["## Event types", "", "| Event type | Version | What happened |", "|---|---|---|"]
    for model in EVENT_CLASSES:
        event_type, version = model.type_key()
        lines.append(f"| `{event_type}` | {version} | {_cell(_doc(model).split(chr(10))[0])} |")
    return "\n".join(lines) + "\n"


def _event_section(model: type[Envelope]) -> str:
    event_type, version = model.type_key()
    schema = json_schema(model)
    defs: Schema = schema.get("$defs", {})
    payload = _resolve(schema["properties"]["payload"], defs)
    lines = [f"### `{event_type}` (v{version})", "", _doc(model), ""]
    if "case_id" in schema["required"]:
        lines += ["The envelope's `case_id` is required.", ""]
    lines += ["Payload:", ""] + _field_table(payload, defs)
    for name in _nested_objects(payload, defs):
        lines += ["", f"`{name}`: {_cell(defs[name].get('description', ''))}", ""]
        lines += _field_table(defs[name], defs)
    example = model.example().model_dump(mode="json", exclude_none=True)
    rendered = orjson.dumps(example, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    lines += ["", "Example:", "", "```json", rendered, "```"]
    return "\n".join(lines) + "\n"


def _field_table(schema: Schema, defs: Schema, *, types: dict[str, str] | None = None) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| Field | Type | Required | Description |", "|---|---|---|---|"]
    for name, node in schema.get("properties", {}).items():
        kind = (types or {}).get(name) or _type_of(node, defs)
        needed = "yes" if name in required else _optional(node)
        lines.append(f"| `{name}` | {_cell(kind)} | {needed} | {_cell(node.get('description', ''))} |")
    return lines


def _optional(node: Schema) -> str:
    default = node.get("default")
    return "no" if default is None else f"no (default `{orjson.dumps(default).decode()}`)"


def _type_of(node: Schema, defs: Schema) -> str:
    options = node.get("anyOf")
    if options:
        return " or ".join(_type_of(option, defs) for option in options if option != {"type": "null"})
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = defs[name]
        return f"{name}: {_values(target['enum'])}" if "enum" in target else f"`{name}` object"
    if "const" in node:
        return f"`{orjson.dumps(node['const']).decode()}`"
    if "enum" in node:
        return _values(node["enum"])
    kind = node.get("type", "any")
    if kind == "array":
        return (
            f"list of {_type_of(node.get('items', {}), defs)}{_range(node, 'minItems', 'maxItems', ' items')}"
        )
    if kind == "string":
        return _string_type(node)
    if kind == "integer":
        limits = {k: v for k, v in node.items() if k in ("minimum", "maximum")}
        bounds = {k: v for k, v in limits.items() if abs(v) < INT64_MAX}
        return "integer" + _range(bounds, "minimum", "maximum", "") + (" (64-bit)" if bounds != limits else "")
    return str(kind)


def _string_type(node: Schema) -> str:
    formats = {"date-time": "date-time with UTC offset (see Bounds)", "uuid": "UUID"}
    if "format" in node:
        return formats.get(node["format"], f"string ({node['format']})")
    if "pattern" in node:
        return f"string matching `{node['pattern']}`"
    return "string" + _range(node, "minLength", "maxLength", " chars")


def _range(node: Schema, low: str, high: str, unit: str) -> str:
    if low in node and high in node:
        return f" ({node[low]}-{node[high]}{unit})"
    if low in node:
        return f" (≥ {node[low]}{unit})"
    return f" (≤ {node[high]}{unit})" if high in node else ""


def _values(values: list[Any]) -> str:
    return ", ".join(f"`{value}`" for value in values)


def _nested_objects(payload: Schema, defs: Schema) -> list[str]:
    """Names of object definitions used by the payload's fields (directly, in lists or as optional values)."""
    names: list[str] = []
    for node in payload.get("properties", {}).values():
        for candidate in (node, node.get("items", {}), *node.get("anyOf", [])):
            ref = candidate.get("$ref", "") if isinstance(candidate, dict) else ""
            name = ref.rsplit("/", 1)[-1]
            if ref and defs[name].get("type") == "object" and name not in names:
                names.append(name)
    return names


def _resolve(node: Schema, defs: Schema) -> Schema:
    if "$ref" not in node:
        return node
    resolved: Schema = defs[node["$ref"].rsplit("/", 1)[-1]]
    return resolved


def _doc(model: type) -> str:
    return inspect.cleandoc(model.__doc__ or "")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
