"""`orchestrator send --sync` renders the execution report for people: each ruleset, rule, change and event sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestrator.cli.trigger import report_text
from orchestrator.engine import compile_workflow, decide
from orchestrator.engine.report import build_report
from orchestrator.model import Event, Outcome, WorkflowDefinition
from orchestrator.model.report import ExecutionReport
from orchestrator.workflow.plugins import discover_rules

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def report_for(*rules: dict[str, Any], total: int = 5) -> ExecutionReport:
    definition = WorkflowDefinition.model_validate({
        "retailerId": "1", "version": "1.0", "entityType": "ORDER", "entitySubtype": "HD",
        "statuses": [{"name": "CREATED"}, {"name": "BOOKED"}],
        "rulesets": [{"name": "CREATE", "type": "ORDER", "triggers": [{"status": "CREATED"}], "rules": list(rules)}],
    })
    event = Event(id="e1", name="CREATE", retailer_id="1", entity_type="ORDER", entity_subtype="HD", entity_ref="O-9",
                  attributes={"total": total})
    decision = decide(event, None, compile_workflow(definition, discover_rules()), NOW, timer=lambda: 0)
    report = build_report([entry.to_record() for entry in decision.audit], "e1")
    assert report is not None
    return report


def test_text_names_the_outcome_states_rulesets_rules_and_events_sent() -> None:
    text = report_text(report_for(
        {"name": "SetAttributes", "id": "big", "condition": "event.attributes.total > 100",
         "props": {"attributes": {"big": True}}},
        {"name": "SetState", "props": {"status": "BOOKED"}},
        {"name": "SendEvent", "props": {"eventName": "CreateFulfilment", "entityType": "FULFILMENT",
                                        "entityRef": "O-9-F1", "entitySubtype": "HD"}},
        {"name": "Log", "props": {"message": "booked {entity.entityRef}"}},
    ))
    lines = text.splitlines()
    assert lines[0] == "CREATE -> ORDER O-9 (retailer 1): SUCCESS   CREATED v0 -> BOOKED v1"
    assert "  ruleset CREATE  matched in status CREATED" in lines
    assert any(line.strip().startswith("big") and "skipped: condition" in line for line in lines)
    assert any(line.strip().startswith("SetState") and "setStatus BOOKED" in line for line in lines)
    assert "  state   CREATED -> BOOKED" in lines
    assert any(line.startswith("  sent    CreateFulfilment to FULFILMENT O-9-F1") for line in lines)
    assert "  log     booked O-9" in lines


def test_text_of_a_failure_says_why_and_after_what() -> None:
    report = report_for({"name": "SetState", "props": {"status": "BOOKED"}},
                        {"name": "Fail", "props": {"message": "no stock"}})
    assert report.outcome is Outcome.FAILED
    text = report_text(report)
    assert text.splitlines()[0].endswith("FAILED   CREATED v0 -> CREATED v0")
    assert "  error   FAILED: failed on purpose: no stock (after ruleset CREATE, rule SetState)" in text.splitlines()


def test_text_of_no_match_says_nothing_changed() -> None:
    report = report_for({"name": "SetState", "props": {"status": "BOOKED"}})
    nothing = report.model_copy(update={"rulesets": [], "outcome": Outcome.NO_MATCH})
    assert "  no ruleset matched: nothing changed" in report_text(nothing).splitlines()
