"""Flow control in the engine: conditional and else rulesets, rule conditions, `after` ordering, context,
results, children and the join."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orchestrator.engine import ChildLink, WorkflowInvalid, compile_workflow, decide
from orchestrator.engine.compiled import CompiledWorkflow
from orchestrator.model import Category, Entity, EntityKey, Event, Outcome, WorkflowDefinition
from orchestrator.rules import core_registry

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
STATUSES = ["CREATED", "BOOKED", "FRAUD_CHECK", "COMPLETE", "CANCELLED"]


def workflow(*rulesets: dict[str, Any]) -> CompiledWorkflow:
    return compile_workflow(WorkflowDefinition.model_validate({
        "retailerId": "1", "version": "1.0", "entityType": "ORDER", "entitySubtype": "HD",
        "rulesets": [{"type": "ORDER", "triggers": [{"status": "CREATED"}], **rs} for rs in rulesets],
        "statuses": [{"name": s} for s in STATUSES],
    }), core_registry())


def rule(name: str, **extra: Any) -> dict[str, Any]:
    props = extra.pop("props", {})
    return {"name": name, "props": props, **extra}


def event(name: str = "CREATE", **attributes: Any) -> Event:
    return Event(id="e1", name=name, retailer_id="1", entity_type="ORDER", entity_subtype="HD",
                 entity_ref="O-1", attributes=attributes)


def status_after(wf: CompiledWorkflow, ev: Event, entity: Entity | None = None) -> str | None:
    d = decide(ev, entity, wf, NOW)
    return d.after.status if d.after else None


FRAUD = {"name": "CREATE", "condition": "event.attributes.total > 500",
         "rules": [rule("SetState", props={"status": "FRAUD_CHECK"})]}
PLAIN = {"name": "CREATE", "else": True, "rules": [rule("SetState", props={"status": "BOOKED"})]}


@pytest.mark.parametrize(("total", "expected"), [(900, "FRAUD_CHECK"), (120, "BOOKED"), (None, "BOOKED")])
def test_conditional_ruleset_and_its_else(total: int | None, expected: str) -> None:
    attributes = {} if total is None else {"total": total}
    assert status_after(workflow(FRAUD, PLAIN), event(**attributes)) == expected


def test_else_does_not_run_when_an_unconditional_ruleset_matched() -> None:
    always = {"name": "CREATE", "rules": [rule("SetAttributes", props={"attributes": {"seen": True}})]}
    d = decide(event(), None, workflow(always, PLAIN), NOW)
    assert d.after is not None and d.after.status == "CREATED" and d.after.attributes == {"seen": True}


def test_two_else_rulesets_for_one_group_are_refused() -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        workflow(PLAIN, PLAIN)
    assert "duplicate else ruleset 'CREATE'" in caught.value.issues[0].message


def test_condition_syntax_error_is_a_load_error_with_a_caret() -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        workflow({"name": "CREATE", "condition": "event.attributes.total > AND x", "rules": []})
    [issue] = caught.value.issues
    assert issue.path == ("rulesets", 0, "condition")
    assert "^" in issue.message and "event.attributes.total > AND x" in issue.message


def test_rule_condition_skips_the_rule_and_says_so() -> None:
    rs = {"name": "CREATE", "rules": [
        rule("SetAttributes", props={"attributes": {"express": True}}, condition="event.attributes.express"),
        rule("SetState", props={"status": "BOOKED"})]}
    d = decide(event(express=False), None, workflow(rs), NOW)
    assert d.after is not None and d.after.attributes == {} and d.after.status == "BOOKED"
    [skipped] = [r for r in d.audit if r.status is Outcome.SKIPPED]
    assert "is false" in skipped.message


def test_rules_run_in_dependency_order_then_as_written() -> None:
    rs = {"name": "CREATE", "rules": [
        rule("SetContext", id="second", after=["first"], props={"values": {"order": "{context.order}-2"}}),
        rule("SetContext", id="first", props={"values": {"order": "1"}}),
        rule("SetContext", id="third", props={"values": {"order": "{context.order}-3"}})]}
    d = decide(event(), None, workflow(rs), NOW)
    assert d.after is not None and d.after.context == {"order": "1-2-3"}
    assert [r.data["id"] for r in d.audit if r.category is Category.RULE] == ["first", "second", "third"]


def test_a_cycle_in_after_is_a_load_error_naming_the_cycle() -> None:
    rs = {"name": "CREATE", "rules": [rule("Log", id="a", after=["b"], props={"message": "a"}),
                                      rule("Log", id="b", after=["a"], props={"message": "b"})]}
    with pytest.raises(WorkflowInvalid) as caught:
        workflow(rs)
    assert "cycle" in caught.value.issues[0].message and "a -> b" in caught.value.issues[0].message


def test_after_naming_an_unknown_rule_is_a_load_error() -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        workflow({"name": "CREATE", "rules": [rule("Log", after=["nope"], props={"message": "x"})]})
    assert caught.value.issues[0].path == ("rulesets", 0, "rules", 0, "after")


def test_context_persists_with_the_entity_and_is_readable_by_conditions() -> None:
    remember = {"name": "CREATE", "rules": [rule("SetContext", props={"values": {"channel": "web"}})]}
    book = {"name": "Book", "triggers": [{"status": "CREATED"}], "condition": "context.channel = 'web'",
            "rules": [rule("SetState", props={"status": "BOOKED"})]}
    wf = workflow(remember, book)
    first = decide(event(), None, wf, NOW)
    assert first.after is not None and first.after.context == {"channel": "web"}
    assert status_after(wf, event("Book"), first.after) == "BOOKED"


def test_join_sends_its_event_only_when_every_child_is_done() -> None:
    join = {"name": "ChildDone", "triggers": [{"status": "BOOKED"}], "rules": [
        rule("IfAllChildren", props={"childType": "FULFILMENT", "statuses": ["DELIVERED", "CANCELLED"],
                                     "eventName": "AllDone"})]}
    done = {"name": "AllDone", "triggers": [{"status": "BOOKED"}], "rules": [
        rule("SetState", props={"status": "COMPLETE"})]}
    wf = workflow(join, done)
    booked = Entity(retailer_id="1", entity_type="ORDER", entity_ref="O-1", entity_subtype="HD",
                    root_entity_type="ORDER", root_entity_ref="O-1", status="BOOKED", version=2)
    waiting = {"FULFILMENT:F1": "DELIVERED", "FULFILMENT:F2": "PICKING"}
    all_done = {"FULFILMENT:F1": "DELIVERED", "FULFILMENT:F2": "CANCELLED"}
    assert decide(event("ChildDone"), booked, wf, NOW, children=waiting).after.status == "BOOKED"  # type: ignore[union-attr]
    assert decide(event("ChildDone"), booked, wf, NOW, children=all_done).after.status == "COMPLETE"  # type: ignore[union-attr]
    assert decide(event("ChildDone"), booked, wf, NOW, children={}).after.status == "BOOKED"  # type: ignore[union-attr]


def test_create_child_per_line_group_links_parent_and_children() -> None:
    rs = {"name": "CREATE", "rules": [rule("CreateChild", props={
        "entityType": "FULFILMENT", "entitySubtype": "HD", "entityRef": "{entity.entityRef}-{item.group}",
        "forEach": "event.attributes.groups", "itemAttributes": True})]}
    groups = [{"group": "A", "lines": [1, 2]}, {"group": "B", "lines": [3]}]
    d = decide(event(groups=groups), None, workflow(rs), NOW)
    assert [(e.entity_ref, e.attributes, e.parent_entity_ref, e.root_entity_ref) for e in d.outgoing] == [
        ("O-1-A", groups[0], "O-1", "O-1"), ("O-1-B", groups[1], "O-1", "O-1")]
    assert d.child_links == (ChildLink(EntityKey("1", "ORDER", "O-1"), "FULFILMENT:O-1-A", "CREATED"),
                             ChildLink(EntityKey("1", "ORDER", "O-1"), "FULFILMENT:O-1-B", "CREATED"))


def test_a_child_reports_status_changes_to_its_parents_index() -> None:
    fulfilment = Event(id="c1", name="CREATE", retailer_id="1", entity_type="ORDER", entity_subtype="HD",
                       entity_ref="F-1", root_entity_type="ORDER", root_entity_ref="O-1",
                       parent_entity_type="ORDER", parent_entity_ref="O-1")
    d = decide(fulfilment, None, workflow(PLAIN), NOW)
    assert d.after is not None and d.after.parent_entity_ref == "O-1"
    assert d.child_links == (ChildLink(EntityKey("1", "ORDER", "O-1"), "ORDER:F-1", "BOOKED"),)


def test_fail_rule_fails_the_event_and_keeps_the_entity() -> None:
    rs = {"name": "CREATE", "rules": [rule("SetState", props={"status": "BOOKED"}),
                                      rule("Fail", props={"message": "total {event.attributes.total} too high"})]}
    d = decide(event(total=10**6), None, workflow(rs), NOW)
    assert d.outcome is Outcome.FAILED and d.after is None
    assert "total 1000000 too high" in d.audit[-1].message


def test_log_and_webhook_rules() -> None:
    rs = {"name": "CREATE", "rules": [
        rule("Log", props={"message": "order {event.entityRef} received",
                           "data": {"total": "{event.attributes.total}"}}),
        rule("Webhook", props={"url": "https://crm.example/orders/{event.entityRef}", "payload": "event"})]}
    d = decide(event(total=12), None, workflow(rs), NOW)
    [note] = [r for r in d.audit if r.category is Category.CUSTOM]
    assert note.message == "order O-1 received" and note.data == {"total": 12}
    [call] = d.webhooks
    assert call.url == "https://crm.example/orders/O-1" and call.body["event"]["attributes"] == {"total": 12}


def test_webhook_secret_can_only_come_from_orch_webhook_variables() -> None:
    rs = {"name": "CREATE", "rules": [rule("Webhook", props={"url": "https://x.example", "secretEnv": "AWS_SECRET"})]}
    with pytest.raises(WorkflowInvalid) as caught:
        workflow(rs)
    assert caught.value.issues[0].path == ("rulesets", 0, "rules", 0, "props", "secretEnv")
