"""Identities of entities and of the root entity whose events share one partition and one Redis slot."""

from __future__ import annotations

from typing import NamedTuple


class RootKey(NamedTuple):
    retailer_id: str
    entity_type: str
    entity_ref: str

    @property
    def tag(self) -> str:
        return f"{self.retailer_id}:{self.entity_type}:{self.entity_ref}"


class EntityKey(NamedTuple):
    retailer_id: str
    entity_type: str
    entity_ref: str

    def __str__(self) -> str:
        return f"{self.entity_type}:{self.entity_ref} (retailer {self.retailer_id})"
