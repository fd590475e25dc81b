"""End to end, as a newcomer meets it: `orchestrator dev` (what `make run` starts) boots the embedded broker and
Redis, an order is published with a plain aiokafka producer, and state, audit and DLQ are read with the CLI."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from conftest import Stack, event, publish

pytestmark = pytest.mark.e2e


async def test_an_order_goes_from_created_to_complete_with_every_step_audited(stack: Stack) -> None:
    order = f"O-{uuid.uuid4().hex[:8]}"
    await publish(stack, event("CREATE", "ORDER", order, entitySubtype="HD", attributes={"total": 42.5}))
    booked = stack.wait_status("ORDER", order, "BOOKED")
    assert booked["attributes"] == {"total": 42.5} and booked["version"] == 1
    stack.wait_status("FULFILMENT", f"{order}-F1", "AWAITING_PICK")

    steps = ["Picking", "Packed", "CourierBooked", "Shipped", "Delivered"]
    await publish(stack, *(event(s, "FULFILMENT", f"{order}-F1", root=order) for s in steps))
    complete = stack.wait_status("ORDER", order, "COMPLETE")
    assert complete["version"] == 6, "CREATE + five fulfilment notifications, CompleteOrder ran inline"

    audit = stack.cli_json("audit", "ORDER", order, "--retailer", "1")
    transitions = [(r["data"]["from"], r["data"]["to"]) for r in audit if r["category"] == "STATE"]
    assert transitions == [("CREATED", "BOOKED"), ("BOOKED", "PICKING"), ("PICKING", "PACKED"),
                           ("PACKED", "AWAITING_COURIER"), ("AWAITING_COURIER", "SHIPPED"),
                           ("SHIPPED", "DELIVERED"), ("DELIVERED", "COMPLETE")]

    tailed = stack.cli("tail", "--from-beginning", "--entity", f"ORDER:{order}", "--category", "STATE",
                       "--count", "7", "--timeout", "30", "--json").stdout.splitlines()
    assert [json.loads(line)["name"] for line in tailed][-1] == "COMPLETE"


async def test_duplicate_unmatched_and_malformed_events(stack: Stack) -> None:
    order = f"O-{uuid.uuid4().hex[:8]}"
    create = event("CREATE", "ORDER", order, entitySubtype="HD")
    await publish(stack, create)
    stack.wait_status("ORDER", order, "BOOKED")

    marker = event("NothingHandlesThis", "ORDER", order)
    await publish(stack, create, b"{this is not json", marker, key=f"1:ORDER:{order}".encode())

    def marker_audited() -> list[dict[str, Any]] | None:
        records: list[dict[str, Any]] = stack.cli_json("audit", "ORDER", order, "--retailer", "1")
        return records if any(r["eventId"] == marker["id"] for r in records) else None

    records = stack.wait_for("the unmatched event's audit record", marker_audited)
    [no_match] = [r for r in records if r["eventId"] == marker["id"]]
    assert no_match["status"] == "NO_MATCH"
    assert [r["eventId"] for r in records if r["category"] == "EVENT"].count(create["id"]) == 1
    entity = stack.entity("ORDER", order)
    assert entity is not None and entity["version"] == 1, "the duplicate and the unmatched event change nothing"

    def dead_lettered() -> list[dict[str, Any]]:
        return [d for d in stack.cli_json("dlq") if d["value"] == "{this is not json"]

    [dead] = stack.wait_for("the malformed event on the DLQ", dead_lettered)
    assert dead["reason"] == "NOT_JSON" and dead["source"]["topic"] == "orchestrator.events"


async def test_someone_elses_fluent_workflow_file_runs_unchanged(stack: Stack) -> None:
    order = f"CC-{uuid.uuid4().hex[:8]}"
    sent = stack.cli("send", "CREATE", "--retailer", "2", "--entity-type", "ORDER", "--subtype", "CC",
                     "--ref", order)
    assert f"sent CREATE to ORDER {order}" in sent.stdout
    stack.wait_status("ORDER", order, "BOOKED", retailer="2")
    for step in ("ReadyForCollection", "CustomerCollected"):
        stack.cli("send", step, "--retailer", "2", "--entity-type", "ORDER", "--ref", order)
    done = stack.wait_status("ORDER", order, "COMPLETE", retailer="2")
    assert done["workflowName"] == "ORDER::CC"
