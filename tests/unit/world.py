"""An in-memory world for example workflows: entities in a dict, every event delivered with `decide`, the
children index kept as the store keeps it, until no event is left."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from orchestrator.engine import Decision, decide
from orchestrator.model import Entity, EntityKey, Event
from orchestrator.workflow import WorkflowRegistry

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class World:
    """Entities in a dict; an event and every event it sends are delivered until none is left."""

    def __init__(self, workflows: WorkflowRegistry) -> None:
        self.workflows = workflows
        self.entities: dict[EntityKey, Entity] = {}
        self.children: dict[EntityKey, dict[str, str]] = {}
        self.count = 0

    def deliver(self, event: Event) -> list[Decision]:
        decisions = []
        pending = deque([event])
        while pending:
            decision = self._decide(pending.popleft())
            decisions.append(decision)
            if decision.after is not None:
                self.entities[decision.after.key] = decision.after
            for link in decision.child_links:  # the index the store keeps in the same atomic step
                self.children.setdefault(link.parent, {})[link.child] = link.status
            pending.extend(decision.outgoing)
        return decisions

    def _decide(self, event: Event) -> Decision:
        entity = self.entities.get(event.entity_key)
        if entity is not None:
            workflow = self.workflows.lookup(entity.retailer_id, entity.entity_type, entity.entity_subtype,
                                             entity.workflow_version)
        else:
            assert event.entity_subtype is not None
            workflow = self.workflows.lookup(event.retailer_id, event.entity_type, event.entity_subtype)
        assert workflow is not None, f"no workflow for {event.entity_key}"
        return decide(event, entity, workflow, NOW, children=self.children.get(event.entity_key, {}))

    def to_order(self, name: str, **attributes: Any) -> list[Decision]:
        self.count += 1
        return self.deliver(Event(id=f"client-{self.count}", name=name, retailer_id="1", entity_type="ORDER",
                                  entity_subtype="HD", entity_ref="O-1", attributes=attributes))

    def to_fulfilment(self, name: str, ref: str = "O-1-F1") -> list[Decision]:
        """What the warehouse sends: the fulfilment, under its root, the order."""
        self.count += 1
        return self.deliver(Event(id=f"wms-{self.count}", name=name, retailer_id="1", entity_type="FULFILMENT",
                                  entity_ref=ref, root_entity_type="ORDER", root_entity_ref="O-1"))

    def status(self, key: EntityKey) -> str:
        return self.entities[key].status
