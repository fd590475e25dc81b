"""The example workflows (rulesets/) drive a home-delivery order through its life, purely in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from world import World

from orchestrator.engine import Decision
from orchestrator.model import Category, EntityKey, Outcome
from orchestrator.rules import core_registry
from orchestrator.workflow import load_workflows

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
ORDER = EntityKey("1", "ORDER", "O-1")
FULFILMENT = EntityKey("1", "FULFILMENT", "O-1-F1")


@pytest.fixture
def world() -> World:
    return World(load_workflows(RULESETS, core_registry()))


def created(world: World) -> list[Decision]:
    return world.to_order("CREATE", customer="C-9", lines=[{"sku": "SKU-1", "qty": 2}])


def test_create_books_the_order_and_creates_its_fulfilment(world: World) -> None:
    order, fulfilment = created(world)
    assert order.event.name == "CREATE" and fulfilment.event.name == "CreateFulfilment"
    [sent] = order.outgoing
    assert (sent.name, sent.entity_type, sent.entity_ref, sent.entity_subtype) == (
        "CreateFulfilment", "FULFILMENT", "O-1-F1", "HD")
    assert (sent.root_entity_type, sent.root_entity_ref) == ("ORDER", "O-1")
    assert sent.partition_key == order.event.partition_key == b"1:ORDER:O-1"
    assert sent.attributes == {"lines": [{"sku": "SKU-1", "qty": 2}]}
    assert (sent.parent_entity_type, sent.parent_entity_ref) == ("ORDER", "O-1")
    assert world.status(ORDER) == "BOOKED"
    assert world.status(FULFILMENT) == "AWAITING_PICK"
    assert world.entities[ORDER].attributes["customer"] == "C-9"
    assert world.entities[FULFILMENT].attributes == sent.attributes
    assert world.entities[FULFILMENT].root_key == world.entities[ORDER].root_key
    assert world.entities[FULFILMENT].workflow_name == "FULFILMENT::HD"


@pytest.mark.parametrize(
    ("steps", "told_order", "fulfilment_status", "order_status"),
    [
        (["Picking"], "FulfilmentPicking", "PICKING", "PICKING"),
        (["Picking", "Packed"], "FulfilmentPacked", "PACKED", "PACKED"),
        (["Picking", "Packed", "CourierBooked"], "FulfilmentAwaitingCourier", "AWAITING_COURIER",
         "AWAITING_COURIER"),
        (["Picking", "Packed", "CourierBooked", "Shipped"], "FulfilmentShipped", "SHIPPED", "SHIPPED"),
    ],
)
def test_each_warehouse_step_moves_the_fulfilment_and_tells_the_order(
    world: World, steps: list[str], told_order: str, fulfilment_status: str, order_status: str
) -> None:
    created(world)
    for step in steps:
        fulfilment, order = world.to_fulfilment(step)
    [sent] = fulfilment.outgoing
    assert (sent.name, sent.entity_type, sent.entity_ref) == (told_order, "ORDER", "O-1")
    assert (sent.root_entity_type, sent.root_entity_ref) == ("ORDER", "O-1")
    assert order.event == sent and order.outcome is Outcome.SUCCESS
    assert world.status(FULFILMENT) == fulfilment_status
    assert world.status(ORDER) == order_status


def test_delivery_completes_the_order_inline(world: World) -> None:
    created(world)
    for step in ("Picking", "Packed", "CourierBooked", "Shipped"):
        world.to_fulfilment(step)
    fulfilment, order = world.to_fulfilment("Delivered")
    assert [e.name for e in fulfilment.outgoing] == ["FulfilmentDelivered"]
    assert world.status(FULFILMENT) == "DELIVERED"
    assert world.status(ORDER) == "COMPLETE"
    assert order.event.name == "FulfilmentDelivered"
    assert order.rulesets_run == 3 and order.outgoing == ()
    assert [r.name for r in order.audit if r.category is Category.RULESET] == [
        "FulfilmentDelivered", "AllFulfilmentsDone", "CompleteOrder"]
    assert [r.message for r in order.audit if r.category is Category.STATE] == ["SHIPPED -> DELIVERED",
                                                                               "DELIVERED -> COMPLETE"]
    inline = [r for r in order.audit if r.category is Category.SENT]
    assert [r.name for r in inline] == ["AllFulfilmentsDone", "CompleteOrder"]
    assert all(r.data["inline"] is True for r in inline)
    assert order.after is not None and order.after.version == order.before.version + 1


def test_the_whole_lifecycle_in_one_pass(world: World) -> None:
    history = [(d.event.entity_type, d.event.name) for d in created(world)]
    for step in ("Picking", "Packed", "CourierBooked", "Shipped", "Delivered"):
        history += [(d.event.entity_type, d.event.name) for d in world.to_fulfilment(step)]
    assert history == [
        ("ORDER", "CREATE"), ("FULFILMENT", "CreateFulfilment"),
        ("FULFILMENT", "Picking"), ("ORDER", "FulfilmentPicking"),
        ("FULFILMENT", "Packed"), ("ORDER", "FulfilmentPacked"),
        ("FULFILMENT", "CourierBooked"), ("ORDER", "FulfilmentAwaitingCourier"),
        ("FULFILMENT", "Shipped"), ("ORDER", "FulfilmentShipped"),
        ("FULFILMENT", "Delivered"), ("ORDER", "FulfilmentDelivered"),
    ]
    assert (world.status(ORDER), world.status(FULFILMENT)) == ("COMPLETE", "DELIVERED")
    assert world.entities[ORDER].version == 6  # one version per event the order applied


def test_cancelling_before_packing_cancels_the_fulfilment_too(world: World) -> None:
    created(world)
    world.to_fulfilment("Picking")
    order, fulfilment = world.to_order("CancelOrder")
    [sent] = order.outgoing
    assert (sent.name, sent.entity_type, sent.entity_ref) == ("CancelFulfilment", "FULFILMENT", "O-1-F1")
    assert (sent.root_entity_type, sent.root_entity_ref) == ("ORDER", "O-1")
    assert fulfilment.event == sent
    assert (world.status(ORDER), world.status(FULFILMENT)) == ("CANCELLED", "CANCELLED")


def test_cancelling_after_shipping_does_nothing(world: World) -> None:
    created(world)
    for step in ("Picking", "Packed", "CourierBooked", "Shipped"):
        world.to_fulfilment(step)
    [order] = world.to_order("CancelOrder")
    assert order.outcome is Outcome.NO_MATCH and order.after is None
    assert (world.status(ORDER), world.status(FULFILMENT)) == ("SHIPPED", "SHIPPED")


def test_a_large_order_takes_the_fraud_branch_first(world: World) -> None:
    [order] = world.to_order("CREATE", total=2500)
    assert world.status(ORDER) == "FRAUD_CHECK" and order.outgoing == ()
    [note] = [r for r in order.audit if r.category is Category.CUSTOM]
    assert note.message == "order O-1 of 2500 held for a fraud check"
    world.to_order("FraudCheckPassed")
    assert (world.status(ORDER), world.status(FULFILMENT)) == ("BOOKED", "AWAITING_PICK")


def test_a_failed_fraud_check_cancels_without_fulfilments(world: World) -> None:
    world.to_order("CREATE", total=2500)
    world.to_order("FraudCheckFailed")
    assert world.status(ORDER) == "CANCELLED" and FULFILMENT not in world.entities


def test_one_fulfilment_per_line_group_and_the_order_completes_on_the_join(world: World) -> None:
    groups = [{"group": "A", "lines": [{"sku": "S-1"}]}, {"group": "B", "lines": [{"sku": "S-2"}]}]
    decisions = world.to_order("CREATE", total=80, lineGroups=groups)
    assert [d.event.entity_ref for d in decisions] == ["O-1", "O-1-A", "O-1-B"]
    assert world.entities[EntityKey("1", "FULFILMENT", "O-1-A")].attributes["lines"] == [{"sku": "S-1"}]
    for ref in ("O-1-A", "O-1-B"):
        for step in ("Picking", "Packed", "CourierBooked", "Shipped"):
            world.to_fulfilment(step, ref)
    world.to_fulfilment("Delivered", "O-1-A")
    assert world.status(ORDER) == "SHIPPED", "one fulfilment is still on its way: no join yet"
    world.to_fulfilment("Delivered", "O-1-B")
    assert world.status(ORDER) == "COMPLETE"


def test_click_and_collect_by_attribute(world: World) -> None:
    world.to_order("CREATE", total=40, deliveryType="CC")
    assert world.entities[FULFILMENT].workflow_name == "FULFILMENT::CC"
    for step in ("Picking", "ReadyForCollection"):
        world.to_fulfilment(step)
    assert world.status(ORDER) == "AWAITING_COLLECTION"
    world.to_fulfilment("Collected")
    assert (world.status(ORDER), world.status(FULFILMENT)) == ("COMPLETE", "COLLECTED")
