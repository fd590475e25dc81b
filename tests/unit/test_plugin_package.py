"""The example plugin package (plugins/acme-rules), installed from its own package, is found through the
entry points and its rules run in a workflow like core rules, with props checked at load."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import distribution
from pathlib import Path

import pytest

from orchestrator.engine import decide
from orchestrator.model import Event
from orchestrator.workflow import WorkflowLoadError, load_workflows
from orchestrator.workflow.plugins import discover_rules

WORKFLOW = """
retailerId: "7"
entityType: ORDER
entitySubtype: WEB
version: "1.0"
statuses: [{name: CREATED}, {name: BOOKED}, {name: ON_HOLD}]
rulesets:
  - name: CREATE
    type: ORDER
    triggers: [{status: CREATED}]
    rules:
      - {name: acme.rules.LoyaltyPoints, props: {pointsPerUnit: "%s"}}
      - {name: acme.rules.CreditCheck, props: {limit: 100}}
      - {name: orchestrator.core.SetState, props: {status: BOOKED}, condition: result.approved}
      - {name: orchestrator.core.SetState, props: {status: ON_HOLD}, condition: NOT result.approved}
"""


def test_the_plugin_is_installed_as_its_own_package() -> None:
    dist = distribution("acme-orchestrator-rules")
    assert {ep.name for ep in dist.entry_points if ep.group == "orchestrator.rules"} == {"LoyaltyPoints",
                                                                                        "CreditCheck"}


@pytest.mark.parametrize(("total", "points", "status"), [(80, 160, "BOOKED"), (250, 500, "ON_HOLD")])
def test_plugin_rules_run_in_a_workflow(tmp_path: Path, total: int, points: int, status: str) -> None:
    (tmp_path / "w.yaml").write_text(WORKFLOW % "2")
    workflow = load_workflows(tmp_path, discover_rules()).lookup("7", "ORDER", "WEB")
    assert workflow is not None
    event = Event(id="e", name="CREATE", retailer_id="7", entity_type="ORDER", entity_subtype="WEB",
                  entity_ref="W-1", attributes={"total": total})
    decision = decide(event, None, workflow, datetime(2026, 11, 21, tzinfo=UTC))
    assert decision.after is not None
    assert (decision.after.attributes["loyaltyPoints"], decision.after.status) == (points, status)


def test_plugin_props_are_checked_at_load(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(WORKFLOW % "-1")
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflows(tmp_path, discover_rules())
    [error] = caught.value.errors
    assert "pointsPerUnit" in error.message and "greater than 0" in error.message
