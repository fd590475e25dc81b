"""Audit records: one per step of an event's execution, readable per entity and tailed as a topic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

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


class AuditHead(NamedTuple):
    """What every audit record of one event on one entity shares: when, which event, which entity."""

    at: datetime
    event_id: str
    event_name: str
    retailer_id: str
    entity_type: str
    entity_ref: str
    root_entity_type: str
    root_entity_ref: str

    def json_prefix(self) -> bytes:
        """``{"at":…,"rootEntityRef":…,`` — the opening of each of this event's audit records' JSON."""
        wire = {
            "at": self.at, "eventId": self.event_id, "eventName": self.event_name, "retailerId": self.retailer_id,
            "entityType": self.entity_type, "entityRef": self.entity_ref, "rootEntityType": self.root_entity_type,
            "rootEntityRef": self.root_entity_ref,
        }
        return orjson.dumps(wire, option=orjson.OPT_UTC_Z)[:-1] + b","


class AuditEntry(NamedTuple):
    """An audit record as the engine writes it: the same fields as ``AuditRecord`` without validation cost
    (the engine makes a dozen per event), the shared part kept once per event; serialised straight to the
    wire JSON."""

    head: AuditHead
    category: Category
    status: Outcome
    name: str
    message: str
    duration_us: int | None
    data: dict[str, Any]

    def to_json(self, prefix: bytes | None = None) -> bytes:
        """The record's JSON; ``prefix`` is its head's ``json_prefix()`` when the caller has it already."""
        tail: dict[str, Any] = {"category": self.category, "status": self.status, "name": self.name,
                                "message": self.message, "data": self.data}
        if self.duration_us is not None:
            tail["durationUs"] = self.duration_us
        body = orjson.dumps(tail, option=orjson.OPT_UTC_Z, default=str)
        return (prefix if prefix is not None else self.head.json_prefix()) + body[1:]

    def to_record(self) -> AuditRecord:
        return AuditRecord.model_validate_json(self.to_json())


def audit_json(entries: Iterable[AuditEntry]) -> list[bytes]:
    """The JSON of each record, the shared head serialised once per event rather than once per record."""
    out: list[bytes] = []
    head: AuditHead | None = None
    prefix = b""
    for entry in entries:
        if entry.head is not head:
            head, prefix = entry.head, entry.head.json_prefix()
        out.append(entry.to_json(prefix))
    return out


def audit_message(records: Sequence[bytes]) -> bytes:
    """One event's audit records as one message (on ``{prefix}.audit`` and in the entity's audit stream): a
    JSON array of the records, in the order they happened. One message per event rather than one per
    record: the broker handles each record at a cost, and an event's records belong together."""
    return b"[" + b",".join(records) + b"]"


def read_audit_message(value: bytes) -> list[AuditRecord]:
    """The records of an audit message (:func:`audit_message`); a single record object, as earlier versions
    published them one by one, is read as a list of one."""
    if value.lstrip()[:1] == b"[":
        return _AUDIT_LIST.validate_json(value)
    return [AuditRecord.model_validate_json(value)]


_AUDIT_LIST = TypeAdapter(list[AuditRecord])
