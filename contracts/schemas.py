"""JSON Schema of each event type: generation, export, and the published snapshots that pin v1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from contracts.envelope import Envelope
from contracts.registry import EVENT_CLASSES

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
PUBLISHED_DIR = Path(__file__).resolve().parent / "published"
"""Snapshots shipped with the package: `published/v<version>/<event_type>.json`."""


def schema_id(event_type: str, version: int) -> str:
    return f"urn:touchline:event:{event_type}:v{version}"


def json_schema(model: type[Envelope]) -> dict[str, Any]:
    """The JSON Schema of one event type: a valid event of that type and version on the wire."""
    event_type, version = model.type_key()
    schema = model.model_json_schema(mode="validation")
    # The defaults make `event_type`/`schema_version` optional in Python, but on the wire they pick the model.
    required = ["event_type", "schema_version"]
    schema["required"] = required + [name for name in schema.get("required", []) if name not in required]
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(event_type, version),
        **schema,
        "title": f"{event_type} v{version}",
        "examples": [model.example_data()],
    }


def dump_schema(schema: dict[str, Any]) -> bytes:
    """Stable text of a schema (sorted keys, two-space indent, final newline) for version control."""
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def export_schemas(directory: Path) -> list[Path]:
    """Write `<event_type>.v<version>.json` for every event type into `directory`; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for model in EVENT_CLASSES:
        event_type, version = model.type_key()
        path = directory / f"{event_type}.v{version}.json"
        path.write_bytes(dump_schema(json_schema(model)))
        written.append(path)
    return written


def published_path(directory: Path, event_type: str, version: int) -> Path:
    return directory / f"v{version}" / f"{event_type}.json"


def load_published(event_type: str, version: int, directory: Path = PUBLISHED_DIR) -> dict[str, Any] | None:
    """The published snapshot of `(event_type, version)`, or None if that version was never published."""
    path = published_path(directory, event_type, version)
    if not path.is_file():
        return None
    loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    return loaded


def publish_snapshots(directory: Path = PUBLISHED_DIR) -> list[Path]:
    """Snapshot every (event_type, version) not yet published; an existing snapshot is never overwritten.

    A published version is a promise: change it compatibly (see `check_compatibility`) or add a new version.
    """
    written = []
    for model in EVENT_CLASSES:
        path = published_path(directory, *model.type_key())
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as handle:  # "x": fail rather than overwrite if someone raced us
            handle.write(dump_schema(json_schema(model)))
        written.append(path)
    return written
