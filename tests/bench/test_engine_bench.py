"""Budget: a ruleset of five rules with three conditions evaluates in under 20 µs (issue: conditions are
compiled, not interpreted per event). Run with `make bench-micro`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orchestrator.engine import compile_workflow, decide
from orchestrator.model import Entity, Event, WorkflowDefinition
from orchestrator.rules import core_registry

pytest.importorskip("pytest_benchmark")

NOW = datetime(2026, 11, 21, tzinfo=UTC)
RULESET = {
    "name": "Pay", "type": "ORDER", "triggers": [{"status": "BOOKED"}],
    "condition": "event.attributes.total > 100 AND entity.status IN ('BOOKED', 'PICKING')",
    "rules": [
        {"name": "SetAttributes", "props": {"fromEvent": ["total", "currency"]}},
        {"name": "SetContext", "props": {"values": {"paid": True}}},
        {"name": "SetAttributes", "props": {"attributes": {"express": True}},
         "condition": "event.attributes.channel LIKE 'web%'"},
        {"name": "SetState", "props": {"status": "PICKING"}, "condition": "context.onHold IS NULL"},
        {"name": "SendEvent", "props": {"eventName": "Paid", "entityType": "PAYMENT", "entityRef": "P-1"}},
    ],
}


def test_ruleset_of_five_rules_with_three_conditions(benchmark: Any) -> None:
    workflow = compile_workflow(WorkflowDefinition.model_validate({
        "retailerId": "1", "version": "1", "entityType": "ORDER", "entitySubtype": "HD", "rulesets": [RULESET],
        "statuses": [{"name": s} for s in ("CREATED", "BOOKED", "PICKING")]}), core_registry())
    entity = Entity(retailer_id="1", entity_type="ORDER", entity_ref="O-1", entity_subtype="HD",
                    root_entity_type="ORDER", root_entity_ref="O-1", status="BOOKED", version=4)
    event = Event(id="e", name="Pay", retailer_id="1", entity_type="ORDER", entity_ref="O-1",
                  attributes={"total": 250, "currency": "EUR", "channel": "web-shop"})
    decision = benchmark(decide, event, entity, workflow, NOW)
    assert decision.after is not None and decision.after.status == "PICKING" and len(decision.outgoing) == 1
    assert benchmark.stats.stats.median < 20e-6, f"median {benchmark.stats.stats.median * 1e6:.1f} µs > 20 µs"
