"""Published JSON Schemas only change compatibly; plus the rules of check_compatibility on hand-made pairs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from contracts import (
    EVENT_CLASSES,
    EVENT_TYPES,
    PUBLISHED_DIR,
    check_compatibility,
    json_schema,
    publish_snapshots,
)
from contracts.schemas import load_published, published_path

pytestmark = pytest.mark.unit

HOW_TO_PUBLISH = "run `touchline contracts publish` (contracts.publish_snapshots()) and commit the snapshot"


# --- the shipped snapshots ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: "{}.v{}".format(*cls.type_key()))
def test_current_schema_is_compatible_with_its_published_snapshot(cls: Any) -> None:
    event_type, version = cls.type_key()
    published = load_published(event_type, version)
    assert published is not None, (
        f"{event_type} v{version} has no published schema snapshot; {HOW_TO_PUBLISH}"
    )

    problems = check_compatibility(published, json_schema(cls))

    assert not problems, (
        f"{event_type} v{version} changed incompatibly since it was published:\n  - "
        + "\n  - ".join(problems)
        + "\nKeep the change compatible, or add the change as a new schema_version."
    )


def test_every_published_snapshot_still_has_a_model() -> None:
    published = {(path.stem, int(path.parent.name[1:])) for path in PUBLISHED_DIR.glob("v*/*.json")}
    assert published, f"no snapshots under {PUBLISHED_DIR}"
    orphans = sorted(published - set(EVENT_TYPES))
    assert not orphans, (
        f"published event types without a model (removing a published type breaks history): {orphans}"
    )


def test_publish_writes_missing_snapshots_and_never_overwrites(tmp_path: Path) -> None:
    first = publish_snapshots(tmp_path)
    assert len(first) == len(EVENT_CLASSES)
    event_type, version = EVENT_CLASSES[0].type_key()
    existing = published_path(tmp_path, event_type, version)
    existing.write_text("{}\n")
    other = published_path(tmp_path, *EVENT_CLASSES[1].type_key())
    other.unlink()

    second = publish_snapshots(tmp_path)

    assert second == [other]
    assert existing.read_text() == "{}\n"
    assert load_published(*EVENT_CLASSES[1].type_key(), directory=tmp_path) == load_published(
        *EVENT_CLASSES[1].type_key()
    )


# --- check_compatibility on hand-made schemas -----------------------------------------------------

BASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "kind"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Name."},
        "kind": {"$ref": "#/$defs/Kind"},
        "count": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "default": None},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5},
        "flag": {"type": "boolean", "default": False},
    },
    "$defs": {"Kind": {"type": "string", "enum": ["a", "b"], "title": "Kind"}},
}


def changed(edit: Any) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    edit(schema)
    return schema


def test_identical_schemas_are_compatible() -> None:
    assert check_compatibility(BASE, copy.deepcopy(BASE)) == []


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda s: s["properties"].update(note={"type": "string"}), id="optional property added"),
        pytest.param(lambda s: s["properties"]["name"].update(maxLength=400), id="max length raised"),
        pytest.param(lambda s: s["properties"]["name"].pop("minLength"), id="min length dropped"),
        pytest.param(lambda s: s["$defs"]["Kind"]["enum"].append("c"), id="enum value added"),
        pytest.param(lambda s: s["required"].remove("kind"), id="required property made optional"),
        pytest.param(lambda s: s["properties"]["name"].update(description="Other words."), id="description"),
        pytest.param(lambda s: s["properties"]["tags"].update(maxItems=10), id="more items allowed"),
        pytest.param(lambda s: s["properties"]["flag"].update(title="Flag"), id="title added"),
        pytest.param(
            lambda s: s["properties"].update(name={"anyOf": [s["properties"]["name"], {"type": "null"}]}),
            id="made nullable",
        ),
        pytest.param(
            lambda s: s["properties"]["count"]["anyOf"][0].update(type="number"),
            id="integer widened to number",
        ),
    ],
)
def test_loosening_changes_are_compatible(edit: Any) -> None:
    assert check_compatibility(BASE, changed(edit)) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            lambda s: s["properties"].pop("count"), "count: property removed", id="property removed"
        ),
        pytest.param(
            lambda s: s["properties"]["name"].update(type="integer"),
            'name: type changed from "string" to "integer"',
            id="type changed",
        ),
        pytest.param(
            lambda s: (s["properties"].update(note={"type": "string"}), s["required"].append("note")),
            "note: property is newly required",
            id="new required property",
        ),
        pytest.param(
            lambda s: s["required"].append("flag"),
            "flag: property is newly required",
            id="optional made required",
        ),
        pytest.param(
            lambda s: s["$defs"]["Kind"]["enum"].remove("b"),
            'kind: enum value(s) removed: ["b"]',
            id="enum narrowed",
        ),
        pytest.param(
            lambda s: s["properties"]["name"].update(maxLength=100),
            "name: maxLength tightened from 200 to 100",
            id="max length tightened",
        ),
        pytest.param(
            lambda s: s["properties"]["tags"]["items"].update(maxLength=10),
            "tags[]: maxLength tightened from 20 to 10",
            id="item max length tightened",
        ),
        pytest.param(
            lambda s: s["properties"]["count"]["anyOf"][0].update(minimum=1),
            "count: minimum tightened from 0 to 1",
            id="minimum raised inside nullable",
        ),
        pytest.param(
            lambda s: s["properties"].update(count={"type": "integer", "minimum": 0}),
            "count: null is no longer accepted",
            id="nullable removed",
        ),
        pytest.param(
            lambda s: s["properties"]["name"].update(pattern="^[a-z]+$"),
            'name: pattern changed from none to "^[a-z]+$"',
            id="pattern added",
        ),
        pytest.param(
            lambda s: s["properties"]["flag"].update(default=True),
            "flag: default changed from false to true",
            id="default changed",
        ),
        pytest.param(
            lambda s: s["properties"]["name"].update(const="x"),
            'name: const changed from none to "x"',
            id="const",
        ),
        pytest.param(
            lambda s: s["properties"]["name"].update(**{"not": {"const": ""}}),
            "name: keyword 'not' changed (not understood by the checker; review by hand)",
            id="unknown keyword",
        ),
    ],
)
def test_tightening_changes_are_flagged(edit: Any, expected: str) -> None:
    problems = check_compatibility(BASE, changed(edit))
    assert expected in problems, problems


def test_literal_narrowed_to_fewer_values_is_flagged() -> None:
    published = {
        "type": "object",
        "properties": {"outcome": {"type": "string", "enum": ["fixed", "no_access"]}},
    }
    current = {"type": "object", "properties": {"outcome": {"type": "string", "const": "fixed"}}}
    assert check_compatibility(published, current)


def test_additional_properties_forbidden_later_is_flagged() -> None:
    published = {"type": "object", "properties": {}}
    current = {"type": "object", "properties": {}, "additionalProperties": False}
    assert check_compatibility(published, current) == ["<root>: additional properties are no longer allowed"]


def test_a_real_field_removal_in_an_event_schema_is_reported_by_path() -> None:
    cls = EVENT_TYPES[("callback.promised", 1)]
    current = json_schema(cls)
    payload_def = current["properties"]["payload"]["$ref"].rsplit("/", 1)[-1]
    del current["$defs"][payload_def]["properties"]["reason"]
    current["$defs"][payload_def]["required"].remove("reason")

    assert check_compatibility(json_schema(cls), current) == ["payload.reason: property removed"]
