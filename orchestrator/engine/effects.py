"""Turning a rule's SendEvent into the event that goes out, and describing actions for the audit."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from orchestrator.model import Entity, Event
from orchestrator.model._fast import replace
from orchestrator.rules import Action, CallWebhook, Note, Output, SendEvent, SetAttributes, SetContext, SetStatus


def derived_event_id(parent_id: str, n: int) -> str:
    """Deterministic: a redelivered event produces the same ids, so downstream dedup holds. UUID-shaped."""
    h = hashlib.blake2b(f"{parent_id}/{n}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def build_event(source: Event, entity: Entity, action: SendEvent, event_id: str, workflow_name: str) -> Event:
    fields: dict[str, Any] = {
        "id": event_id,
        "name": action.name,
        "type": action.event_type,
        "retailer_id": entity.retailer_id,
        "attributes": action.attributes,
        "source": f"workflow:{workflow_name}",
        "scheduled_on": None,
        "parent_entity_type": None,
        "parent_entity_ref": None,
    }
    target = action.target
    if target is None:
        fields |= {"entity_type": entity.entity_type, "entity_ref": entity.entity_ref,
                   "entity_subtype": entity.entity_subtype, "root_entity_type": entity.root_entity_type,
                   "root_entity_ref": entity.root_entity_ref}
        return replace(source, **fields)  # every field set from validated parts: no validation needed
    own_root = target.entity_type == entity.root_entity_type and not action.creates_child
    fields |= {"entity_type": target.entity_type, "entity_ref": target.entity_ref,
               "entity_subtype": target.entity_subtype,
               "root_entity_type": target.entity_type if own_root else entity.root_entity_type,
               "root_entity_ref": target.entity_ref if own_root else entity.root_entity_ref}
    if action.creates_child:
        fields |= {"parent_entity_type": entity.entity_type, "parent_entity_ref": entity.entity_ref}
    return replace(source, **fields)


_DESCRIBE: dict[type, Callable[[Any], dict[str, Any]]] = {
    SetStatus: lambda a: {"setStatus": a.status},
    SetAttributes: lambda a: {"setAttributes": a.values},
    SetContext: lambda a: {"setContext": a.values},
    Output: lambda a: {"result": a.value},
    Note: lambda a: {"log": a.message},
    CallWebhook: lambda a: {"webhook": a.url},
}


def describe(action: Action) -> dict[str, Any]:
    """A compact, JSON-safe description of an action for the rule's audit record."""
    if not isinstance(action, SendEvent):
        return _DESCRIBE[type(action)](action)
    target = action.target
    described: dict[str, Any] = {"sendEvent": action.name}
    if target is not None:
        described["to"] = f"{target.entity_type}:{target.entity_ref}"
    if action.creates_child:
        described["createsChild"] = True
    return described
