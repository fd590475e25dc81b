"""The JSON views that conditions, templates and code rules read; rebuilt only when the entity changes."""

from __future__ import annotations

from typing import Any

from orchestrator.model import Entity, Event


class Scope:
    __slots__ = ("_entity_view", "_event_views", "result", "results")

    def __init__(self) -> None:
        self._event_views: dict[str, dict[str, Any]] = {}
        self._entity_view: tuple[Entity, dict[str, Any]] | None = None
        self.result: Any = None
        self.results: dict[str, Any] = {}

    def view(self, event: Event, entity: Entity) -> dict[str, Any]:
        entity_view = self._entity(entity)
        return {
            "event": self._event(event),
            "entity": entity_view,
            "context": entity_view.get("context", {}),
            "result": self.result,
            "results": self.results,
        }

    def _event(self, event: Event) -> dict[str, Any]:
        view = self._event_views.get(event.id)
        if view is None:
            view = self._event_views[event.id] = event.model_dump(mode="json", by_alias=True)
        return view

    def _entity(self, entity: Entity) -> dict[str, Any]:
        cached = self._entity_view
        if cached is None or cached[0] is not entity:
            cached = self._entity_view = (entity, entity.model_dump(mode="json", by_alias=True))
        return cached[1]
