"""The state the orchestrator keeps for each entity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from orchestrator.model._base import WireModel
from orchestrator.model.identity import EntityKey, RootKey

INITIAL_STATUS = "CREATED"


class Entity(WireModel):
    """An order, fulfilment, … as the store holds it. ``version`` grows by one per applied event."""

    retailer_id: str
    entity_type: str
    entity_ref: str
    entity_subtype: str
    root_entity_type: str
    root_entity_ref: str
    status: str = INITIAL_STATUS
    attributes: dict[str, Any] = Field(default_factory=dict)
    version: int = 0
    last_event_id: str = Field(default="", description="Id of the event that produced this version.")
    context: dict[str, Any] = Field(default_factory=dict, description="Workflow-level context kept with the entity.")
    parent_entity_type: str | None = None
    parent_entity_ref: str | None = None
    workflow_name: str = ""
    workflow_version: str = ""
    created_on: datetime | None = None
    updated_on: datetime | None = None

    @property
    def key(self) -> EntityKey:
        return EntityKey(self.retailer_id, self.entity_type, self.entity_ref)

    @property
    def root_key(self) -> RootKey:
        return RootKey(self.retailer_id, self.root_entity_type, self.root_entity_ref)

    @property
    def parent_key(self) -> EntityKey | None:
        if self.parent_entity_type is None or self.parent_entity_ref is None:
            return None
        return EntityKey(self.retailer_id, self.parent_entity_type, self.parent_entity_ref)

    @property
    def is_new(self) -> bool:
        return self.version == 0

    @property
    def stamp(self) -> str:
        """Identifies this exact state: a commit built on it applies only while the store still holds it."""
        return f"{self.version}:{self.last_event_id}"
