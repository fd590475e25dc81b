"""The entity as an execution changes it, and the JSON views conditions, templates and code rules read.

Views are plain dicts built by hand (no pydantic dumps on the hot path) and rebuilt only after a change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from orchestrator.model import Entity, Event
from orchestrator.model._fast import replace


def rfc3339(moment: datetime) -> str:
    """``moment.isoformat()`` in a third of the time (orjson's writer; an offset to the second, which RFC 3339
    cannot state, is cut to the minute). Every view has two."""
    return orjson.dumps(moment)[1:-1].decode()


def event_view(event: Event) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": event.id, "name": event.name, "type": event.type, "retailerId": event.retailer_id,
        "entityType": event.entity_type, "entitySubtype": event.entity_subtype, "entityRef": event.entity_ref,
        "rootEntityType": event.root_entity_type, "rootEntityRef": event.root_entity_ref,
        "attributes": event.attributes, "source": event.source,
    }
    if event.scheduled_on is not None:
        view["scheduledOn"] = rfc3339(event.scheduled_on)
    if event.parent_entity_type is not None:
        view |= {"parentEntityType": event.parent_entity_type, "parentEntityRef": event.parent_entity_ref}
    return view


class Working:
    """Status, attributes and context as rules change them; the Entity is rebuilt only when asked for, and
    the entity's JSON view is built once and kept up to date in place."""

    __slots__ = ("_entity", "_view", "attributes", "base", "changed", "context", "status")

    def __init__(self, base: Entity) -> None:
        self.base = base
        self.status = base.status
        self.attributes = base.attributes
        self.context = base.context
        self.changed = False
        self._entity: Entity | None = base
        self._view: dict[str, Any] | None = None

    def set_status(self, status: str) -> None:
        self.status = status
        if self._view is not None:
            self._view["status"] = status
        self.changed, self._entity = True, None

    def set_attributes(self, values: dict[str, Any]) -> None:
        self.attributes = {**self.attributes, **values}
        if self._view is not None:
            self._view["attributes"] = self.attributes
        self.changed, self._entity = True, None

    def set_context(self, values: dict[str, Any]) -> None:
        self.context = {**self.context, **values}
        if self._view is not None:
            self._view["context"] = self.context
        self.changed, self._entity = True, None

    @property
    def entity(self) -> Entity:
        if self._entity is None:
            self._entity = replace(self.base, status=self.status, attributes=self.attributes, context=self.context)
        return self._entity

    def view(self) -> dict[str, Any]:
        if self._view is None:
            b = self.base
            self._view = {
                "retailerId": b.retailer_id, "entityType": b.entity_type, "entityRef": b.entity_ref,
                "entitySubtype": b.entity_subtype, "rootEntityType": b.root_entity_type,
                "rootEntityRef": b.root_entity_ref, "status": self.status, "attributes": self.attributes,
                "context": self.context, "version": b.version, "workflowName": b.workflow_name,
                "workflowVersion": b.workflow_version, "parentEntityType": b.parent_entity_type,
                "parentEntityRef": b.parent_entity_ref,
                "createdOn": rfc3339(b.created_on) if b.created_on is not None else None,
                "updatedOn": rfc3339(b.updated_on) if b.updated_on is not None else None,
            }
        return self._view


class Scope:
    """What conditions and rules see: ``event``, ``entity``, ``context``, ``result``, ``results``.

    One view dict per event, updated in place as the execution goes (status, attributes, context, result):
    conditions and rules only read it while their step runs.
    """

    __slots__ = ("_last_result", "_views", "results", "working")

    def __init__(self, working: Working) -> None:
        self.working = working
        self._views: dict[str, dict[str, Any]] = {}
        self._last_result: dict[str, Any] = {}  # by event id: what a view built now shows as ``result``
        self.results: dict[str, Any] = {}

    def set_result(self, event: Event, rule_id: str, value: Any) -> None:
        """A rule's output, run for ``event``: ``results[rule_id]``, and ``result`` in that event's view."""
        self.results[rule_id] = self._last_result[event.id] = value
        view = self._views.get(event.id)
        if view is not None:
            view["result"] = value

    def context_changed(self) -> None:
        context = self.working.context
        for view in self._views.values():
            view["context"] = context

    def view(self, event: Event) -> dict[str, Any]:
        """Built when a condition or rule first reads it (most rulesets' rules read nothing of it)."""
        view = self._views.get(event.id)
        if view is None:
            view = self._views[event.id] = {
                "event": event_view(event), "entity": self.working.view(), "context": self.working.context,
                "result": self._last_result.get(event.id), "results": self.results}
        return view
