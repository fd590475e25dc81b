"""docs/rules.md is generated from the rules' code; a rule or prop change must regenerate it (`make docs`)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.rules import core_registry
from orchestrator.workflow.reference import markdown, rule_rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_the_reference_page_matches_the_code() -> None:
    assert DOC.read_text() == markdown(core_registry()), "docs/rules.md is out of date: run `make docs`"


def test_every_library_rule_is_documented_with_its_props() -> None:
    rows = {row["name"]: row for row in rule_rows(core_registry())}
    assert {"SetState", "SendEvent", "SetAttributes", "SetContext", "CreateChild", "ForEach",
            "SendEventToParent", "IfAllChildren", "Log", "Webhook", "Fail"} <= rows.keys()
    for row in rows.values():
        assert row["summary"], f"{row['name']} has no docstring"
        assert all(p["description"] for p in row["props"]), f"{row['name']} has a prop without a description"
