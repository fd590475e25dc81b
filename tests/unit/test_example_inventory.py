"""The INVENTORY example (the seed's reorder workflow) with its code rules: stock below the minimum raises a
reorder notification and a PURCHASE_ORDER child; receiving the goods brings the position back to ACTIVE."""

from __future__ import annotations

from pathlib import Path

import pytest
from world import World

from orchestrator.model import Category, EntityKey, Event, Outcome
from orchestrator.workflow import load_workflows
from orchestrator.workflow.plugins import discover_rules

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
SKU = EntityKey("1", "INVENTORY", "SKU-1@STORE-9")


@pytest.fixture
def world() -> World:
    return World(load_workflows(RULESETS, discover_rules()))


def stock_check(world: World, n: int, **attributes: int) -> list:  # type: ignore[type-arg]
    return world.deliver(Event(id=f"count-{n}", name="StockCheck", retailer_id="1", entity_type="INVENTORY",
                               entity_subtype="DEFAULT", entity_ref=SKU.entity_ref, attributes=attributes))


def test_enough_stock_only_records_the_count(world: World) -> None:
    [decision] = stock_check(world, 1, onHand=40, minimum=10)
    assert world.status(SKU) == "ACTIVE" and decision.outgoing == ()
    [rule] = [r for r in decision.audit if r.category is Category.RULE and r.data.get("id") == "check"]
    assert rule.data["result"] == {"onHand": 40, "minimum": 10, "short": False, "reorderQty": 0}


def test_stock_below_minimum_reorders_and_creates_a_purchase_order(world: World) -> None:
    stock_check(world, 1, onHand=40, minimum=10)
    inventory, purchase_order = stock_check(world, 2, onHand=3)
    assert world.status(SKU) == "REORDER_PENDING"
    [note] = [r for r in inventory.audit if r.category is Category.CUSTOM]
    assert note.message == "reorder: SKU-1@STORE-9 has 3 on hand, ordering 17"
    [po] = inventory.outgoing
    assert (po.entity_type, po.entity_subtype, po.name) == ("PURCHASE_ORDER", "DEFAULT", "CreatePurchaseOrder")
    assert po.attributes == {"sku": "SKU-1@STORE-9", "quantity": 17}
    assert purchase_order.after is not None and purchase_order.after.status == "REQUESTED"
    assert world.children[SKU] == {f"PURCHASE_ORDER:{po.entity_ref}": "REQUESTED"}


def test_a_second_low_count_does_not_reorder_twice(world: World) -> None:
    stock_check(world, 1, onHand=3, minimum=10)
    [again] = stock_check(world, 2, onHand=2)
    assert again.outgoing == () and world.status(SKU) == "REORDER_PENDING"


def test_goods_received_bring_the_position_back(world: World) -> None:
    stock_check(world, 1, onHand=3, minimum=10)
    [po_ref] = [k.split(":", 1)[1] for k in world.children[SKU]]
    world.deliver(Event(id="grn-1", name="GoodsReceived", retailer_id="1", entity_type="PURCHASE_ORDER",
                        entity_ref=po_ref, root_entity_type="INVENTORY", root_entity_ref=SKU.entity_ref))
    assert world.status(SKU) == "ACTIVE"
    assert world.entities[SKU].attributes["onHand"] == 20


def test_code_that_fails_leaves_the_entity_unchanged_and_audits_why(world: World) -> None:
    stock_check(world, 1, onHand=40, minimum=10)
    [decision] = stock_check(world, 2, onHand="many")
    assert decision.outcome is Outcome.FAILED and decision.after is None
    failure = decision.audit[-1]
    assert "TypeError: '<' not supported" in failure.message and "at code:4" in failure.message
    assert failure.data["rule"] == "check"
