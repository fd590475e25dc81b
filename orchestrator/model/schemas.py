"""JSON Schemas of the wire formats, generated from the models (``schemas/`` holds the committed copies)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orchestrator.model.audit import AuditRecord
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
    out["audit-message"] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "audit-message.schema.json",
        "title": "AuditMessage", "type": "array", "items": {"$ref": "audit-record.schema.json"},
        "description": "A message of the audit topic: the audit records of one event's execution (the events "
                       "it ran inline included), in the order they happened; a webhook's outcome is an array "
                       "of one.",
    }
    return out
