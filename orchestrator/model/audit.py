"""Audit records: one per step of an event's execution, readable per entity and tailed as a topic."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import orjson
from pydantic import Field

from orchestrator.model._base import WireModel


class Category(StrEnum):
    EVENT = "EVENT"  # the event was received and what came of it
    RULESET = "RULESET"  # a ruleset matched and ran
    RULE = "RULE"  # a rule ran: props, duration, actions
    STATE = "STATE"  # the status or attributes changed
    SENT = "SENT"  # an event was sent (inline or to the events topic)
    WEBHOOK = "WEBHOOK"  # a webhook call's outcome, audited after the event's step by the webhook delivery
    EXCEPTION = "EXCEPTION"  # something failed
    CUSTOM = "CUSTOM"  # written by a rule on purpose


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    NO_MATCH = "NO_MATCH"
    FAILED = "FAILED"
    LOOP_LIMIT = "LOOP_LIMIT"
    SKIPPED = "SKIPPED"  # a rule whose condition was false


class AuditRecord(WireModel):
    at: datetime
    event_id: str
    event_name: str
    retailer_id: str
    entity_type: str
    entity_ref: str
    root_entity_type: str
    root_entity_ref: str
    category: Category
    status: Outcome = Outcome.SUCCESS
    name: str = Field(default="", description="Ruleset, rule or event name this record is about.")
    message: str = ""
    duration_us: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class AuditEntry(NamedTuple):
    """An audit record as the engine writes it: the same fields as ``AuditRecord`` without validation cost
    (the engine makes a dozen per event); serialised straight to the wire JSON."""

    at: datetime
    event_id: str
    event_name: str
    retailer_id: str
    entity_type: str
    entity_ref: str
    root_entity_type: str
    root_entity_ref: str
    category: Category
    status: Outcome
    name: str
    message: str
    duration_us: int | None
    data: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "at": self.at, "eventId": self.event_id, "eventName": self.event_name, "retailerId": self.retailer_id,
            "entityType": self.entity_type, "entityRef": self.entity_ref, "rootEntityType": self.root_entity_type,
            "rootEntityRef": self.root_entity_ref, "category": self.category, "status": self.status,
            "name": self.name, "message": self.message, "data": self.data,
        }
        if self.duration_us is not None:
            wire["durationUs"] = self.duration_us
        return wire

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_wire(), option=orjson.OPT_UTC_Z, default=str)

    def to_record(self) -> AuditRecord:
        return AuditRecord.model_validate_json(self.to_json())
