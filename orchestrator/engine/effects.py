"""Turning a rule's SendEvent into the event that goes out, and describing it for the audit."""

from __future__ import annotations

import hashlib
from typing import Any

from orchestrator.model import Entity, Event
from orchestrator.model._fast import construct
from orchestrator.rules import SendEvent


def derived_event_id(parent_id: str, n: int) -> str:
    """Deterministic: a redelivered event produces the same ids, so downstream dedup holds. UUID-shaped."""
    h = _blake2b(f"{parent_id}/{n}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_blake2b = hashlib.blake2b


def build_event(entity: Entity, action: SendEvent, event_id: str, source: str) -> Event:
    """The event ``action`` sends from ``entity``. Every field is set here from validated parts, so the event is
    built without validation."""
    target = action.target
    subtype: str | None
    if target is None:
        entity_type, entity_ref, subtype = entity.entity_type, entity.entity_ref, entity.entity_subtype
        root_type, root_ref = entity.root_entity_type, entity.root_entity_ref
    else:
        entity_type, entity_ref, subtype = target.entity_type, target.entity_ref, target.entity_subtype
        own_root = entity_type == entity.root_entity_type and not action.creates_child
        root_type = entity_type if own_root else entity.root_entity_type
        root_ref = entity_ref if own_root else entity.root_entity_ref
    child = action.creates_child
    return construct(Event, {
        "id": event_id, "name": action.name, "type": action.event_type, "retailer_id": entity.retailer_id,
        "entity_type": entity_type, "entity_subtype": subtype, "entity_ref": entity_ref,
        "root_entity_type": root_type, "root_entity_ref": root_ref, "attributes": action.attributes,
        "source": source, "scheduled_on": None,
        "parent_entity_type": entity.entity_type if child else None,
        "parent_entity_ref": entity.entity_ref if child else None,
    })


def describe_send(action: SendEvent) -> dict[str, Any]:
    """A compact, JSON-safe description of a SendEvent for the rule's audit record."""
    target = action.target
    described: dict[str, Any] = {"sendEvent": action.name}
    if target is not None:
        described["to"] = f"{target.entity_type}:{target.entity_ref}"
    if action.creates_child:
        described["createsChild"] = True
    return described
