"""The audit as the engine writes it: an entry per step, and one message per event (compiled with mypyc, see
tools/build_native.py: a dozen entries per event)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic.alias_generators import to_camel

from orchestrator.model.audit import AuditRecord, Category, Outcome


class AuditHead(NamedTuple):
    """What every audit record of one event on one entity shares: when, which event, which entity (the first
    fields of ``AuditRecord``, by the same names)."""

    at: datetime
    event_id: str
    event_name: str
    retailer_id: str
    entity_type: str
    entity_ref: str
    root_entity_type: str
    root_entity_ref: str

    def wire_fields(self) -> dict[str, Any]:
        """The head's fields by their wire names."""
        return dict(zip(AUDIT_HEAD_FIELDS, self, strict=True))

    def differences(self, shared: AuditHead) -> dict[str, Any]:
        """The wire fields where this head differs from the one a message states once (``shared``)."""
        return {name: ours for name, ours, theirs in zip(AUDIT_HEAD_FIELDS, self, shared, strict=True)
                if ours != theirs}


AUDIT_HEAD_FIELDS = tuple(to_camel(name) for name in AuditHead._fields)  # as the wire (WireModel) names them


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

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntry:
        head = AuditHead(*(getattr(record, name) for name in AuditHead._fields))
        return cls(head, record.category, record.status, record.name, record.message, record.duration_us,
                   record.data)

    def to_json(self) -> bytes:
        """The whole record's JSON, its head included."""
        return orjson.dumps(self.wire_fields(self.head.wire_fields()), option=orjson.OPT_UTC_Z, default=str)

    def wire_fields(self, head: dict[str, Any]) -> dict[str, Any]:
        """The record's fields by their wire names, after ``head`` (the head fields it states itself)."""
        fields = {**head, "category": self.category, "status": self.status, "name": self.name,
                  "message": self.message, "data": self.data}
        if self.duration_us is not None:
            fields["durationUs"] = self.duration_us
        return fields

    def to_record(self) -> AuditRecord:
        return AuditRecord.model_validate_json(self.to_json())


def audit_message(entries: Sequence[AuditEntry]) -> bytes:
    """One event's audit records as one message (on ``{prefix}.audit`` and in the entity's audit stream):
    the head the records share (when, the event, the entity) once, then the records in the order they
    happened, each without the head fields it shares (a record of an event run inline names that event):

        {"at": …, "eventId": …, …, "rootEntityRef": …, "records": [{"category": …}, {"eventId": …, …}]}

    One message per event rather than one per record, and the head once rather than per record: the broker
    and Redis handle each record and each byte at a cost, and the head was half of an event's audit."""
    if not entries:
        raise ValueError("an audit message needs at least one record")
    shared = entries[0].head
    differing: dict[int, dict[str, Any]] = {id(shared): {}}
    records: list[dict[str, Any]] = []
    for entry in entries:
        own = differing.get(id(entry.head))
        if own is None:
            own = differing[id(entry.head)] = entry.head.differences(shared)
        records.append(entry.wire_fields(own))
    message = shared.wire_fields()
    message["records"] = records
    return orjson.dumps(message, option=orjson.OPT_UTC_Z, default=str)  # one call: a call costs per record
