"""The workflow registry: versions, lookup of the pinned or the latest one, listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.engine import CompiledWorkflow, compile_workflow
from orchestrator.model import WorkflowDefinition
from orchestrator.rules import core_registry
from orchestrator.workflow import WorkflowRegistry, load_workflows, version_order
from orchestrator.workflow.registry import DuplicateWorkflow

WORKFLOW_YAML = """\
retailerId: "7"
version: "{version}"
entityType: ORDER
entitySubtype: HD
name: ORDER::HD
statuses: [{{name: CREATED}}]
"""


def compiled(version: str, subtype: str = "HD") -> CompiledWorkflow:
    definition = WorkflowDefinition.model_validate(
        {"retailerId": "7", "version": version, "entityType": "ORDER", "entitySubtype": subtype}
    )
    return compile_workflow(definition, core_registry())


@pytest.mark.parametrize(
    ("older", "newer"),
    [("1.9", "1.10"), ("1.0", "1.0.1"), ("2", "10"), ("1.rc", "1.1"), ("v1.2", "v1.11"), ("1.0", "2.0")],
)
def test_versions_compare_numeric_parts_as_numbers(older: str, newer: str) -> None:
    assert version_order(older) < version_order(newer)


def test_lookup_gives_the_latest_version_unless_one_is_pinned(tmp_path: Path) -> None:
    for version in ("1.9", "1.10", "1.2"):
        (tmp_path / f"order_{version}.yaml").write_text(WORKFLOW_YAML.format(version=version))
    registry = load_workflows(tmp_path, core_registry())
    latest = registry.lookup("7", "ORDER", "HD")
    assert latest is not None and latest.version == "1.10"
    pinned = registry.lookup("7", "ORDER", "HD", "1.9")
    assert pinned is not None and pinned.version == "1.9"
    gone = registry.lookup("7", "ORDER", "HD", "0.1")
    assert gone is not None and gone.version == "1.10"
    assert registry.versions("7", "ORDER", "HD") == ["1.2", "1.9", "1.10"]


def test_lookup_of_an_unknown_workflow_is_none() -> None:
    registry = WorkflowRegistry([compiled("1.0")])
    assert registry.lookup("7", "ORDER", "CC") is None
    assert registry.lookup("8", "ORDER", "HD", "1.0") is None


def test_the_latest_does_not_depend_on_the_order_added() -> None:
    forwards = WorkflowRegistry([compiled("1.2"), compiled("1.10")])
    backwards = WorkflowRegistry([compiled("1.10"), compiled("1.2")])
    for registry in (forwards, backwards):
        latest = registry.lookup("7", "ORDER", "HD")
        assert latest is not None and latest.version == "1.10"


def test_a_version_added_after_lookups_is_what_the_next_lookups_find() -> None:
    registry = WorkflowRegistry([compiled("1.0")])
    for _ in range(2):  # the second lookup is answered from what the first found
        first = registry.lookup("7", "ORDER", "HD")
        assert first is not None and first.version == "1.0"
        assert registry.lookup("7", "ORDER", "HD", "2.0") is first  # not loaded: the latest
        assert registry.lookup("7", "ORDER", "CC") is None
    registry.add(compiled("2.0"))
    registry.add(compiled("1.0", subtype="CC"))
    latest, pinned = registry.lookup("7", "ORDER", "HD"), registry.lookup("7", "ORDER", "HD", "2.0")
    assert latest is not None and latest.version == "2.0" and pinned is latest
    assert registry.lookup("7", "ORDER", "HD", "1.0") is first
    assert registry.lookup("7", "ORDER", "CC") is not None


def test_a_key_can_be_added_once() -> None:
    registry = WorkflowRegistry([compiled("1.0")])
    with pytest.raises(DuplicateWorkflow, match=r"7/ORDER/HD v1\.0"):
        registry.add(compiled("1.0"))


def test_iteration_length_and_listing() -> None:
    registry = WorkflowRegistry([(compiled("1.10"), "a.yaml"), compiled("1.9"), compiled("1.0", "CC")])
    assert len(registry) == 3
    assert [(w.definition.entity_subtype, w.version) for w in registry] == [("CC", "1.0"), ("HD", "1.9"),
                                                                           ("HD", "1.10")]
    assert registry.summary() == "7/ORDER/CC v1.0, 7/ORDER/HD v1.9, 7/ORDER/HD v1.10"
    rows = registry.describe_rows()
    assert rows[2] == {"retailerId": "7", "entityType": "ORDER", "entitySubtype": "HD", "version": "1.10",
                       "name": "ORDER::HD", "rulesets": 0, "statuses": 0, "latest": True, "file": "a.yaml"}
    assert rows[1]["latest"] is False and "file" not in rows[1]
    assert registry.describe().splitlines()[2] == "7/ORDER/HD v1.10  ORDER::HD: 0 rulesets, 0 statuses (a.yaml)"
