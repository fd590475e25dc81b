"""Micro-benchmark of compiled conditions (pytest-benchmark).  The budget: a ruleset of five rules with three
conditions evaluates in under 20 µs in total, so one typical condition should take a microsecond or so.

Run: ``.venv/bin/pytest tests/bench/test_conditions_bench.py --benchmark-only``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("pytest_benchmark")

from orchestrator.conditions import compile_condition
from orchestrator.conditions._condition import _compile_cached

TYPICAL = "event.attributes.total > 500 AND entity.status IN ('BOOKED', 'PICKING')"
THREE = [
    TYPICAL,
    "event.attributes.deliveryType = 'EXPRESS' OR entity.attributes.express",
    "event.name LIKE 'ORDER_%' AND NOT (event.attributes.customer['tier'] IN ('GOLD', 'PLATINUM'))"
    " AND event.attributes.lines[0].quantity * event.attributes.lines[0].price >= context.limits.minTotal",
]
BUDGET_SECONDS = 20e-6  # the whole ruleset's; three conditions alone take a small part of it


def _scope(attributes_as_text: bool) -> dict[str, Any]:
    """What the engine passes: Fluent's event fields, the entity snapshot, the workflow context."""

    def value(number: Any) -> Any:
        return str(number) if attributes_as_text else number

    return {
        "event": {
            "id": "8f2c1e",
            "name": "ORDER_CREATED",
            "type": "NORMAL",
            "retailerId": "1",
            "entityType": "ORDER",
            "entitySubtype": "HD",
            "entityRef": "HD-000123",
            "rootEntityType": "ORDER",
            "rootEntityRef": "HD-000123",
            "attributes": {
                "total": value(612.5),
                "deliveryType": "STANDARD",
                "customer": {"ref": "C-9", "tier": "SILVER"},
                "lines": [{"sku": "SKU-1", "quantity": value(2), "price": value(Decimal("149.95"))}],
                "postcode": "3000",
            },
        },
        "entity": {"ref": "HD-000123", "status": "BOOKED", "version": 4, "attributes": {"express": False}},
        "context": {"retailerId": "1", "limits": {"minTotal": 100}},
    }


def _within_budget(benchmark: Any, budget: float) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        assert stats.stats.median < budget


@pytest.mark.parametrize("attributes_as_text", [False, True], ids=["json-typed", "attributes-as-text"])
def test_one_typical_condition(benchmark: Any, attributes_as_text: bool) -> None:
    condition = compile_condition(TYPICAL)
    scope = _scope(attributes_as_text)
    assert benchmark(condition.evaluate, scope) is True
    _within_budget(benchmark, BUDGET_SECONDS / 5)


@pytest.mark.parametrize("attributes_as_text", [False, True], ids=["json-typed", "attributes-as-text"])
def test_three_conditions(benchmark: Any, attributes_as_text: bool) -> None:
    conditions = [compile_condition(text) for text in THREE]
    scope = _scope(attributes_as_text)

    def evaluate_all() -> list[bool]:
        return [condition.evaluate(scope) for condition in conditions]

    assert benchmark(evaluate_all) == [True, False, True]
    _within_budget(benchmark, BUDGET_SECONDS)


def test_compiling_is_done_once(benchmark: Any) -> None:
    """For scale: what compile_condition costs when its cache is bypassed (parse + generate + compile())."""
    compile_uncached: Callable[[str], Any] = _compile_cached.__wrapped__
    condition = benchmark(compile_uncached, THREE[2])
    assert condition.names_used == {"event", "context"}
