"""The entity event: Fluent's field names, keyed on the wire by its root entity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from orchestrator.model._base import WireModel
from orchestrator.model._fast import memoized
from orchestrator.model.identity import EntityKey, RootKey

NORMAL = "NORMAL"


class Event(WireModel):
    """Something that happened to an entity; the orchestrator's only input."""

    model_config = ConfigDict(ignored_types=(memoized,))

    id: str = Field(min_length=1, description="Unique event id; an id seen before is applied once.")
    name: str = Field(min_length=1, description="Event name, matched against ruleset names.")
    type: str = Field(default=NORMAL, description="Event type, matched against a ruleset's eventType.")
    retailer_id: str = Field(min_length=1)
    entity_type: str = Field(min_length=1)
    entity_subtype: str | None = Field(
        default=None, description="Needed when the entity is new; otherwise the stored subtype is used."
    )
    entity_ref: str = Field(min_length=1)
    root_entity_type: str = Field(default="", description="Defaults to the entity itself.")
    root_entity_ref: str = Field(default="", description="Defaults to the entity itself.")
    attributes: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    scheduled_on: datetime | None = None
    parent_entity_type: str | None = Field(
        default=None, description="For an event that creates a child entity: its parent (an extension to Fluent)."
    )
    parent_entity_ref: str | None = None

    @model_validator(mode="after")
    def _root_defaults_to_self(self) -> Event:
        if not self.root_entity_type:
            object.__setattr__(self, "root_entity_type", self.entity_type)
        if not self.root_entity_ref:
            object.__setattr__(self, "root_entity_ref", self.entity_ref)
        return self

    # Cached: the worker asks each event for its keys several times, and an event is frozen.
    @memoized
    def entity_key(self) -> EntityKey:
        return EntityKey(self.retailer_id, self.entity_type, self.entity_ref)

    @memoized
    def root_key(self) -> RootKey:
        return RootKey(self.retailer_id, self.root_entity_type, self.root_entity_ref)

    @property
    def partition_key(self) -> bytes:
        """All events of one root entity share a key, hence a partition, hence an order."""
        return self.root_key.tag.encode()
