"""The committed JSON Schemas are what the models generate: a change to a model must regenerate them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from orchestrator.model import AuditEntry, AuditHead, AuditRecord, Category, audit_message
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


def _audit_message_validator() -> Draft202012Validator:
    schemas = json_schemas()
    registry: Registry[Any] = Registry().with_resources(
        (f"{name}.schema.json", Resource.from_contents(schema, default_specification=DRAFT202012))
        for name, schema in schemas.items())
    return Draft202012Validator(schemas["audit-message"], registry=registry)


def _record(event_id: str, category: Category, **fields: Any) -> AuditRecord:
    return AuditRecord(at=datetime(2026, 11, 21, tzinfo=UTC), event_id=event_id, event_name=event_id.upper(),
                       retailer_id="1", entity_type="ORDER", entity_ref="O-1", root_entity_type="ORDER",
                       root_entity_ref="O-1", category=category, **fields)


def test_an_audit_message_with_an_inline_events_records_conforms_to_the_audit_message_schema() -> None:
    records = [_record("e1", Category.RULESET, name="CREATE"), _record("e2", Category.STATE, data={"to": "X"}),
               _record("e1", Category.EVENT, duration_us=12)]
    message = orjson.loads(audit_message([AuditEntry.of(r) for r in records]))
    validator = _audit_message_validator()
    assert list(validator.iter_errors(message)) == []
    assert [r.get("eventId") for r in message["records"]] == [None, "e2", None]


def test_the_audit_message_schema_refuses_a_record_without_category_and_a_message_without_its_head() -> None:
    message = orjson.loads(audit_message([AuditEntry.of(_record("e1", Category.EVENT))]))
    validator = _audit_message_validator()
    assert not validator.is_valid({**message, "records": [{"status": "SUCCESS"}]})
    assert not validator.is_valid({k: v for k, v in message.items() if k != "eventId"})
    assert not validator.is_valid({**message, "records": [{"category": "NOT_A_CATEGORY"}]})


def test_an_audit_entry_carries_the_records_head_fields_and_reads_back_as_the_same_record() -> None:
    head_fields = AuditHead._fields
    assert tuple(AuditRecord.model_fields)[:len(head_fields)] == head_fields
    record = _record("e1", Category.EVENT)
    assert AuditEntry.of(record).to_record() == record
