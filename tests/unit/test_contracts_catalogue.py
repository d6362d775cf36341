"""The generated documentation: docs/events.md and the exported JSON Schemas follow the models."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from contracts import EVENT_CLASSES, export_schemas, json_schema, parse, render_catalogue

pytestmark = pytest.mark.unit

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_docs_events_md_is_up_to_date() -> None:
    committed = CATALOGUE.read_text(encoding="utf-8") if CATALOGUE.exists() else ""
    assert committed == render_catalogue(), (
        "docs/events.md is out of date with the contracts; regenerate it with `make docs` "
        "(touchline contracts catalogue docs/events.md) and commit the result"
    )


def test_catalogue_documents_every_event_type_with_fields_and_example() -> None:
    catalogue = render_catalogue()
    assert "touchline.events.v1" in catalogue and "touchline.events.dlq.v1" in catalogue
    for cls in EVENT_CLASSES:
        event_type, version = cls.type_key()
        section = catalogue.split(f"### `{event_type}` (v{version})", 1)[1].split("\n### `", 1)[0]
        assert cls.__doc__ and cls.__doc__.splitlines()[0] in section
        for name in type(cls.example().payload).model_fields:
            assert f"| `{name}` |" in section
        example = section.split("```json\n", 1)[1].split("```", 1)[0]
        assert parse(example) == cls.example()


def test_export_writes_one_schema_per_event_type(tmp_path: Path) -> None:
    written = export_schemas(tmp_path / "schemas")

    assert len(written) == len(EVENT_CLASSES)
    for cls, path in zip(EVENT_CLASSES, written, strict=True):
        event_type, version = cls.type_key()
        assert path.name == f"{event_type}.v{version}.json"
        schema = orjson.loads(path.read_bytes())
        assert schema == orjson.loads(orjson.dumps(json_schema(cls)))
        assert schema["$id"] == f"urn:touchline:event:{event_type}:v{version}"
        assert schema["title"] == f"{event_type} v{version}"
        assert schema["properties"]["event_type"]["const"] == event_type
        assert {"event_id", "event_type", "schema_version", "occurred_at", "source", "payload"} <= set(
            schema["required"]
        )
        assert schema["additionalProperties"] is False
        assert [parse(example) for example in schema["examples"]] == [cls.example()]
