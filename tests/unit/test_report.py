"""The execution report is what the audit records of one event add up to: built here from real engine output,
on the example workflows in rulesets/ and on small workflows that each show one feature."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from orchestrator.engine import CompiledWorkflow, Decision, compile_workflow, decide, derived_event_id
from orchestrator.engine.report import build_report
from orchestrator.model import AuditRecord, Category, Entity, Event, Outcome, WorkflowDefinition
from orchestrator.model.report import ExecutionReport
from orchestrator.workflow.loader import load_workflows
from orchestrator.workflow.plugins import discover_rules
from orchestrator.workflow.registry import WorkflowRegistry

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RULES = discover_rules()


@pytest.fixture(scope="module")
def examples() -> WorkflowRegistry:
    return load_workflows(REPO / "rulesets", RULES)


def ticking() -> Iterator[int]:
    """A clock in nanoseconds that moves 2µs per reading: every rule takes exactly 2µs."""
    now = 0
    while True:
        now += 2000
        yield now


def run(event: Event, entity: Entity | None, workflow: CompiledWorkflow | None, **options: Any) -> Decision:
    assert workflow is not None, "the example workflow is not loaded"
    clock = ticking()
    return decide(event, entity, workflow, NOW, timer=lambda: next(clock), **options)


def stored(decision: Decision) -> list[AuditRecord]:
    """The decision's audit records as the store gives them back to the report builder."""
    return [entry.to_record() for entry in decision.audit]


def report_of(decision: Decision) -> ExecutionReport:
    report = build_report(stored(decision), decision.event.id)
    assert report is not None, "the decision's audit holds its final record"
    return report


def order_event(name: str, event_id: str = "e1", ref: str = "O-1", **attributes: Any) -> Event:
    return Event(id=event_id, name=name, retailer_id="1", entity_type="ORDER", entity_subtype="HD", entity_ref=ref,
                 attributes=attributes)


def order(status: str, version: int = 3, ref: str = "O-1", **attributes: Any) -> Entity:
    return Entity(retailer_id="1", entity_type="ORDER", entity_ref=ref, entity_subtype="HD", root_entity_type="ORDER",
                  root_entity_ref=ref, status=status, version=version, last_event_id="before",
                  workflow_name="ORDER::HD", workflow_version="1.0", attributes=attributes)


def small_workflow(*rulesets: dict[str, Any]) -> CompiledWorkflow:
    definition = WorkflowDefinition.model_validate({
        "retailerId": "1", "version": "1.0", "entityType": "ORDER", "entitySubtype": "HD", "name": "ORDER::HD",
        "rulesets": [{"type": "ORDER", "subtype": "HD", **rs} for rs in rulesets],
        "statuses": [{"name": s} for s in ("CREATED", "BOOKED", "PICKING", "COMPLETE")],
    })
    return compile_workflow(definition, RULES)


def rule(name: str, **extra: Any) -> dict[str, Any]:
    props = extra.pop("props", {})
    return {"name": f"acme.core.{name}", "props": props, **extra}


def all_rules(report: ExecutionReport) -> list[tuple[str, str, dict[str, Any]]]:
    return [(rs.name, r.rule, r.props) for rs in report.rulesets for r in rs.rules]


# --- the example workflows --------------------------------------------------------------------------------


def test_order_create_reports_the_create_ruleset_the_booking_and_the_fulfilment(examples: WorkflowRegistry) -> None:
    decision = run(order_event("CREATE", total=120, lines=[{"sku": "S-1", "qty": 1}]), None,
                   examples.lookup("1", "ORDER", "HD"))
    report = report_of(decision)

    assert report.outcome is Outcome.SUCCESS and report.changed
    assert (report.event_id, report.event_name) == ("e1", "CREATE")
    assert (report.retailer_id, report.entity_type, report.entity_ref) == ("1", "ORDER", "O-1")
    assert report.state_before.model_dump() == {"status": "CREATED", "version": 0}
    assert report.state_after.model_dump() == {"status": "BOOKED", "version": 1}
    assert report.rulesets[0].name == "CREATE" and not report.rulesets[0].inline
    assert ("SetState", {"status": "BOOKED"}) in [(r, p) for _, r, p in all_rules(report)]
    assert [(c.from_status, c.to_status) for c in report.state_changes] == [("CREATED", "BOOKED")]
    outgoing = [(s.name, s.entity_type, s.entity_ref) for s in report.events_sent if not s.inline]
    assert outgoing == [("CreateFulfilment", "FULFILMENT", "O-1-F1")]
    assert outgoing == [(e.name, e.entity_type, e.entity_ref) for e in decision.outgoing]
    assert report.errors == [] and report.at == NOW


def test_every_rule_record_of_the_event_is_in_the_report_with_its_duration(examples: WorkflowRegistry) -> None:
    decision = run(order_event("CREATE", total=5), None, examples.lookup("1", "ORDER", "HD"))
    report = report_of(decision)

    recorded = [r for r in decision.audit if r.category is Category.RULE]
    reported = [r for rs in report.rulesets for r in rs.rules]
    assert [(r.name, r.status) for r in reported] == [(r.name, r.status) for r in recorded]
    ran = [r for r in reported if not r.skipped]
    assert all(r.duration_us == 2 for r in ran)
    assert report.total_duration_us == 2 * len(ran)
    assert [rs.name for rs in report.rulesets] == [r.name for r in decision.audit if r.category is Category.RULESET]


def test_a_fulfilment_step_reports_its_notice_to_the_order(examples: WorkflowRegistry) -> None:
    fulfilment = Entity(retailer_id="1", entity_type="FULFILMENT", entity_ref="O-1-F1", entity_subtype="HD",
                        root_entity_type="ORDER", root_entity_ref="O-1", status="AWAITING_PICK", version=1)
    event = Event(id="p1", name="Picking", retailer_id="1", entity_type="FULFILMENT", entity_ref="O-1-F1",
                  root_entity_type="ORDER", root_entity_ref="O-1")
    report = report_of(run(event, fulfilment, examples.lookup("1", "FULFILMENT", "HD")))

    assert (report.entity_type, report.root_entity_type, report.root_entity_ref) == ("FULFILMENT", "ORDER", "O-1")
    assert (report.state_before.status, report.state_after.status) == ("AWAITING_PICK", "PICKING")
    assert (report.state_before.version, report.state_after.version) == (1, 2)
    assert [rs.name for rs in report.rulesets] == ["Picking"]
    assert [(s.name, s.entity_type, s.entity_ref, s.inline) for s in report.events_sent] == [
        ("FulfilmentPicking", "ORDER", "O-1", False)]


def test_an_event_no_ruleset_matches_reports_no_match_and_no_change(examples: WorkflowRegistry) -> None:
    report = report_of(run(order_event("Bogus"), order("BOOKED"), examples.lookup("1", "ORDER", "HD")))

    assert report.outcome is Outcome.NO_MATCH and not report.changed
    assert report.state_before == report.state_after
    assert report.state_after.model_dump() == {"status": "BOOKED", "version": 3}
    assert report.rulesets == [] and report.events_sent == [] and report.state_changes == []
    assert "status BOOKED" in report.message


# --- building from a stream ---------------------------------------------------------------------------------


def test_no_report_until_the_final_record_is_there(examples: WorkflowRegistry) -> None:
    decision = run(order_event("CREATE"), None, examples.lookup("1", "ORDER", "HD"))
    assert decision.audit[-1].category is Category.EVENT
    assert build_report(stored(decision)[:-1], "e1") is None
    assert build_report([], "e1") is None
    assert build_report(stored(decision), "another-event") is None


def test_other_events_of_the_same_stream_are_left_out(examples: WorkflowRegistry) -> None:
    workflow = examples.lookup("1", "ORDER", "HD")
    first = run(order_event("CREATE", event_id="a"), None, workflow)
    assert first.after is not None
    second = run(order_event("Bogus", event_id="b"), first.after, workflow)
    stream = [*stored(first), *stored(second)]

    report_a, report_b = build_report(stream, "a"), build_report(stream, "b")
    assert report_a is not None and report_b is not None
    assert report_a == report_of(first), "records after the event's final one change nothing"
    assert (report_b.outcome, report_b.rulesets, report_b.state_before.version) == (Outcome.NO_MATCH, [], 1)


# --- one feature each ---------------------------------------------------------------------------------------

BOOK_INLINE = (
    {"name": "CREATE", "triggers": [{"status": "CREATED"}],
     "rules": [rule("SendEvent", props={"eventName": "Book"})]},
    {"name": "Book", "triggers": [{"status": "CREATED"}],
     "rules": [rule("SetState", props={"status": "BOOKED"})]},
)


def test_inline_events_and_their_rulesets_are_part_of_the_report() -> None:
    report = report_of(run(order_event("CREATE"), None, small_workflow(*BOOK_INLINE)))
    inline_id = derived_event_id("e1", 1)

    assert [(rs.name, rs.inline, rs.event_id) for rs in report.rulesets] == [
        ("CREATE", False, "e1"), ("Book", True, inline_id)]
    assert [(s.name, s.inline, s.event_id, s.sent_by) for s in report.events_sent] == [("Book", True, inline_id, "e1")]
    assert [(i.name, i.event_id, i.outcome) for i in report.inline_events] == [("Book", inline_id, Outcome.SUCCESS)]
    assert [(c.to_status, c.event_name) for c in report.state_changes] == [("BOOKED", "Book")]
    assert report.state_after.model_dump() == {"status": "BOOKED", "version": 1}


def test_an_inline_event_nothing_matches_is_reported_as_such() -> None:
    workflow = small_workflow({"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SetState", props={"status": "BOOKED"}), rule("SendEvent", props={"eventName": "Nobody"})]})
    report = report_of(run(order_event("CREATE"), None, workflow))
    assert [(i.name, i.outcome) for i in report.inline_events] == [("Nobody", Outcome.NO_MATCH)]
    assert report.outcome is Outcome.SUCCESS


def test_a_rule_whose_condition_is_false_is_reported_skipped() -> None:
    workflow = small_workflow({"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SetAttributes", id="big", condition="event.attributes.total > 100", props={"attributes": {"big": True}}),
        rule("SetState", props={"status": "BOOKED"})]})
    report = report_of(run(order_event("CREATE", total=5), None, workflow))

    skipped, ran = report.rulesets[0].rules
    assert (skipped.id, skipped.skipped, skipped.status, skipped.duration_us) == ("big", True, Outcome.SKIPPED, None)
    assert skipped.condition is not None and "event.attributes.total > 100" in skipped.condition
    assert (ran.rule, ran.skipped, ran.actions) == ("SetState", False, [{"setStatus": "BOOKED"}])
    assert report.total_duration_us == 2


def test_a_failing_rule_reports_failed_where_it_stopped_and_no_change() -> None:
    workflow = small_workflow({"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SetState", props={"status": "BOOKED"}), rule("Fail", props={"message": "credit refused"})]})
    report = report_of(run(order_event("CREATE"), None, workflow))

    assert report.outcome is Outcome.FAILED and not report.changed
    assert report.state_after.model_dump() == {"status": "CREATED", "version": 0}
    [error] = report.errors
    assert error.outcome is Outcome.FAILED and "credit refused" in error.message
    assert (error.after_ruleset, error.after_rule, error.event_id) == ("CREATE", "SetState", "e1")
    assert [r.rule for r in report.rulesets[0].rules] == ["SetState"], "what ran before the failure is shown"


def test_an_endless_inline_loop_reports_the_loop_limit() -> None:
    workflow = small_workflow({"name": "Ping", "rules": [rule("SendEvent", props={"eventName": "Ping"})]})
    report = report_of(run(order_event("Ping"), order("BOOKED"), workflow, max_inline_depth=3))

    assert report.outcome is Outcome.LOOP_LIMIT and not report.changed
    assert [e.outcome for e in report.errors] == [Outcome.LOOP_LIMIT]
    assert "inline depth limit of 3" in report.errors[0].message
    assert len(report.rulesets) == 4, "the event and three inline Pings ran before the fourth was stopped"


def test_log_records_are_reported_as_custom_records() -> None:
    workflow = small_workflow({"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("Log", props={"message": "order {entity.entityRef} arrived",
                           "data": {"total": "{event.attributes.total}"}}),
        rule("SetState", props={"status": "BOOKED"})]})
    report = report_of(run(order_event("CREATE", total=7), None, workflow))

    [custom] = report.custom
    assert custom.message == "order O-1 arrived" and custom.event_id == "e1"
    assert custom.data["total"] in (7, "7")


def test_the_report_json_matches_the_committed_schema(examples: WorkflowRegistry) -> None:
    schema = orjson.loads((REPO / "schemas" / "execution-report.schema.json").read_bytes())
    validator = Draft202012Validator(schema)
    for event, entity in ((order_event("CREATE", total=3), None), (order_event("Bogus"), order("BOOKED"))):
        report = report_of(run(event, entity, examples.lookup("1", "ORDER", "HD")))
        document = orjson.loads(report.to_json())
        assert not list(validator.iter_errors(document))
        assert {"eventId", "stateBefore", "stateAfter", "rulesets", "eventsSent", "totalDurationUs"} <= set(document)
        assert ExecutionReport.model_validate_json(report.to_json()) == report
