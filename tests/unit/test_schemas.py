"""The committed JSON Schemas are what the models generate: a change to a model must regenerate them."""

from __future__ import annotations

from pathlib import Path

import orjson

from orchestrator.model.schemas import json_schemas

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_committed_schemas_match_the_models() -> None:
    for name, schema in json_schemas().items():
        path = SCHEMAS / f"{name}.schema.json"
        assert path.exists(), f"{path.name} is missing: run `make schemas`"
        assert orjson.loads(path.read_bytes()) == schema, f"{path.name} drifted from the model: run `make schemas`"


def test_event_schema_names_fluent_fields_and_requires_identity() -> None:
    schema = json_schemas()["event"]
    assert {"id", "name", "retailerId", "entityType", "entityRef"} <= set(schema["required"])
    assert {"rootEntityType", "rootEntityRef", "attributes", "scheduledOn", "source"} <= set(schema["properties"])
