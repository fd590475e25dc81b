"""Rule plugins through the ``orchestrator.rules`` entry-point group."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points

import pytest

from orchestrator.rules import Action, Rule, RuleContext, RuleProps, SetStatus
from orchestrator.rules.core import SetState
from orchestrator.workflow import RulePluginError, discover_rules
from orchestrator.workflow.plugins import ENTRY_POINT_GROUP


class ShipProps(RuleProps):
    pass


class Ship(Rule[ShipProps]):
    Props = ShipProps

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        return (SetStatus("SHIPPED"),)


def plugin(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_the_installed_project_registers_the_core_rules_as_entry_points() -> None:
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert {"SetState", "SendEvent", "SetAttributes"} <= names


def test_discover_rules_finds_the_core_rules() -> None:
    registry = discover_rules()
    assert {"SetState", "SendEvent", "SetAttributes"} <= {name for name, _ in registry}
    assert registry.resolve("FLUENTRETAIL.base.SetState") is SetState


def test_a_plugin_rule_is_registered_under_its_entry_point_name() -> None:
    registry = discover_rules([plugin("ShipIt", f"{__name__}:Ship")])
    assert registry.resolve("acme.ShipIt") is Ship
    assert "SetState" in registry


def test_a_plugin_that_fails_to_import_names_the_plugin() -> None:
    with pytest.raises(RulePluginError) as caught:
        discover_rules([plugin("Refund", "acme_missing.rules:Refund")])
    [error] = caught.value.errors
    assert error.file == "entry point Refund = acme_missing.rules:Refund"
    assert error.message == (
        "rule plugin 'Refund' (acme_missing.rules:Refund) failed to import: ModuleNotFoundError: "
        "No module named 'acme_missing'; reinstall its package or uninstall it"
    )


def test_a_plugin_that_is_not_a_rule_is_refused() -> None:
    with pytest.raises(RulePluginError, match=r"'Odd' \(orchestrator.rules:RuleProps\) is not a Rule subclass"):
        discover_rules([plugin("Odd", "orchestrator.rules:RuleProps")])


def test_two_rules_under_one_name_are_refused() -> None:
    with pytest.raises(RulePluginError, match="registers the rule name 'SetState', which orchestrator"):
        discover_rules([plugin("SetState", f"{__name__}:Ship")])


def test_every_broken_plugin_is_reported() -> None:
    with pytest.raises(RulePluginError) as caught:
        discover_rules([plugin("A", "acme_a:A"), plugin("Fine", f"{__name__}:Ship"), plugin("B", "acme_b:B")])
    assert [e.file for e in caught.value.errors] == ["entry point A = acme_a:A", "entry point B = acme_b:B"]
