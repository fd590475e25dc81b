"""The JSON a store keeps per entity (``Entity.to_state_json``) and reading it back (``from_state_json``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from orchestrator.model import Entity

CREATED = datetime(2026, 11, 21, 9, 30, 15, 123456, tzinfo=UTC)


def entity(**changes: Any) -> Entity:
    values: dict[str, Any] = {
        "retailer_id": "1", "entity_type": "FULFILMENT", "entity_ref": "F-1", "entity_subtype": "HD",
        "root_entity_type": "ORDER", "root_entity_ref": "O-1", "status": "PICKING", "version": 4,
        "last_event_id": "e-4", "attributes": {"lines": [{"sku": "A", "qty": 2}], "note": None},
        "context": {"retries": 1}, "workflow_name": "FULFILMENT::HD", "workflow_version": "1.2",
        "created_on": CREATED, "updated_on": CREATED + timedelta(minutes=5),
    }
    return Entity(**(values | changes))


VARIANTS = {
    "order at its root": entity(entity_type="ORDER", entity_ref="O-1"),
    "child with a parent": entity(parent_entity_type="ORDER", parent_entity_ref="O-1"),
    "never dated": entity(created_on=None, updated_on=None),
    "dated in another zone": entity(created_on=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))),
    "dated on the second": entity(updated_on=datetime(2026, 1, 1, 8, 0, tzinfo=UTC)),
    "empty": entity(attributes={}, context={}, last_event_id="", workflow_name="", workflow_version=""),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_state_json_is_what_pydantic_writes_without_the_identity_and_version(name: str) -> None:
    e = VARIANTS[name]
    pydantic_json = e.__pydantic_serializer__.to_json(
        e, by_alias=True, exclude_none=True,
        exclude={"retailer_id", "entity_type", "entity_ref", "root_entity_type", "root_entity_ref", "version"})
    assert e.to_state_json() == pydantic_json
    assert not {"retailerId", "entityRef", "rootEntityRef", "version"} & set(orjson.loads(e.to_state_json()))


@pytest.mark.parametrize("name", VARIANTS)
def test_state_json_reads_back_as_the_same_entity(name: str) -> None:
    e = VARIANTS[name]
    assert Entity.from_state_json(e.to_state_json(), e.key, e.root_key, e.version) == e


def test_attributes_json_cannot_hold_are_still_written_as_pydantic_would() -> None:
    e = entity(attributes={"price": Decimal("9.95"), "tags": {"gift"}})
    state = orjson.loads(e.to_state_json())
    assert state["attributes"] == {"price": "9.95", "tags": ["gift"]}
    assert state["status"] == "PICKING"


@pytest.mark.parametrize("name", VARIANTS)
def test_a_state_read_back_is_written_again_byte_for_byte(name: str) -> None:
    e = VARIANTS[name]
    raw = e.to_state_json()
    assert Entity.from_state_json(raw, e.key, e.root_key, e.version).to_state_json() == raw
