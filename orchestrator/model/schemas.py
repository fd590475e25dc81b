"""JSON Schemas of the wire formats, generated from the models (``schemas/`` holds the committed copies)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orchestrator.model.audit import AuditRecord
from orchestrator.model.audit_entry import AUDIT_HEAD_FIELDS
from orchestrator.model.entity import Entity
from orchestrator.model.event import Event
from orchestrator.model.report import ExecutionReport
from orchestrator.model.workflow import WorkflowDefinition

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "event": Event,
    "entity": Entity,
    "workflow": WorkflowDefinition,
    "audit-record": AuditRecord,
    "execution-report": ExecutionReport,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name (without ``.schema.json``) → schema."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        out[name] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{name}.schema.json",
                     **schema}
    out["audit-message"] = _audit_message_schema()
    return out


def _audit_message_schema() -> dict[str, Any]:
    """:func:`orchestrator.model.audit_entry.audit_message`: the shared head once, then records that may restate it."""
    def field(name: str) -> dict[str, str]:
        return {"$ref": f"audit-record.schema.json#/properties/{name}"}
    record = AuditRecord.model_json_schema(by_alias=True, mode="validation")
    head = list(AUDIT_HEAD_FIELDS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "audit-message.schema.json",
        "title": "AuditMessage", "type": "object",
        "description": "A message of the audit topic: the audit records of one event's execution (the events it "
                       "ran inline included), in the order they happened. What the records share (when, the "
                       "event, the entity) is stated once; a record restates only what differs (an inline "
                       "event's eventId and eventName). A webhook's outcome is a message of one record.",
        "properties": {**{name: field(name) for name in head}, "records": {
            "type": "array", "items": {"type": "object", "required": ["category"],
                                       "properties": {name: field(name) for name in record["properties"]}}}},
        "required": [*head, "records"],
    }
