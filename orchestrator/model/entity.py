"""The state the orchestrator keeps for each entity."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson
from pydantic import Field

from orchestrator.model._base import WireModel
from orchestrator.model.identity import EntityKey, RootKey

INITIAL_STATUS = "CREATED"
# What a store's key already says (entity and root identity) and the version it keeps beside the JSON.
STORED_ELSEWHERE = frozenset({"retailer_id", "entity_type", "entity_ref", "root_entity_type", "root_entity_ref",
                              "version"})
_NOT_IN_STATE = set(STORED_ELSEWHERE)  # pydantic takes a set


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

    def to_state_json(self) -> bytes:
        """The JSON a store keeps under the entity's key: without the identity the key holds and the version
        the store counts (about a quarter of an order's JSON). ``from_state_json`` puts them back.

        Written by orjson from the fields (the same bytes as pydantic's serializer, in half the time: once per
        applied event); pydantic's serializer takes over for what orjson refuses (an attribute a code rule set
        to a Decimal or a set, say)."""
        values = self.__dict__
        state = {wire: value for name, wire in _STATE_FIELDS if (value := values[name]) is not None}
        try:
            return orjson.dumps(state, option=orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:
            return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True,
                                                        exclude=_NOT_IN_STATE)

    @classmethod
    def from_state_json(cls, raw: bytes, key: EntityKey, root: RootKey, version: int) -> Entity:
        """The entity from ``to_state_json`` (or from the full JSON of earlier versions: the key wins)."""
        known = orjson.dumps({
            "retailerId": key.retailer_id, "entityType": key.entity_type, "entityRef": key.entity_ref,
            "rootEntityType": root.entity_type, "rootEntityRef": root.entity_ref, "version": version,
        })
        body = raw.strip()
        whole = body[:-1] + b"," + known[1:] if body != b"{}" else known  # later keys win in pydantic's parser
        return cast(Entity, cls.__pydantic_validator__.validate_json(whole))  # model_validate_json(): 0.4 µs more

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


# The fields ``to_state_json`` writes, in declaration order, as (name, wire name): all but STORED_ELSEWHERE.
_STATE_FIELDS = tuple((name, field.alias or name) for name, field in Entity.model_fields.items()
                      if name not in STORED_ELSEWHERE)
