"""Audit records: one per step of an event's execution, readable per entity and tailed as a topic. The engine
writes them as :mod:`orchestrator.model.audit_entry` entries, one message per event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import Field, TypeAdapter

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


def read_audit_message(value: bytes) -> list[AuditRecord]:
    """The records of an audit message (:func:`~orchestrator.model.audit_entry.audit_message`), each with the
    head it shares put back. Read too: a JSON array of whole records, and a single record object, as earlier
    versions published them."""
    if value.lstrip()[:1] == b"[":
        return _AUDIT_LIST.validate_json(value)
    data = orjson.loads(value)
    if not isinstance(data, dict) or "records" not in data:
        return [AuditRecord.model_validate(data)]
    records = data.pop("records")
    return _AUDIT_LIST.validate_python([{**data, **record} for record in records])


_AUDIT_LIST = TypeAdapter(list[AuditRecord])
