"""The pure engine: matching on status, rule execution, inline events, loop bound, failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from orchestrator.engine import WorkflowInvalid, compile_workflow, decide, derived_event_id
from orchestrator.engine.compiled import CompiledWorkflow
from orchestrator.model import (
    AuditEntry,
    Category,
    Entity,
    Event,
    Outcome,
    WorkflowDefinition,
    audit_message,
    read_audit_message,
)
from orchestrator.rules import Output, Rule, RuleContext, RuleProps, RuleRegistry, core_registry
from orchestrator.rules.base import IDENTITY_FIELDS
from orchestrator.rules.templates import lookup_path

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
STATUSES = ["CREATED", "BOOKED", "PICKING", "COMPLETE", "CANCELLED"]


def workflow(*rulesets: dict[str, Any], registry: RuleRegistry | None = None) -> CompiledWorkflow:
    definition = WorkflowDefinition.model_validate({
        "retailerId": "1", "version": "1.0", "entityType": "ORDER", "entitySubtype": "HD", "name": "ORDER::HD",
        "rulesets": [{"type": "ORDER", "subtype": "HD", **rs} for rs in rulesets],
        "statuses": [{"name": s, "entityType": "ORDER"} for s in STATUSES],
    })
    return compile_workflow(definition, registry or core_registry())


def rule(name: str, **props: Any) -> dict[str, Any]:
    return {"name": f"acme.core.{name}", "props": props}


def event(name: str, event_id: str = "e1", **attributes: Any) -> Event:
    return Event(id=event_id, name=name, retailer_id="1", entity_type="ORDER", entity_subtype="HD",
                 entity_ref="O-1", attributes=attributes)


def entity(status: str, version: int = 3) -> Entity:
    return Entity(retailer_id="1", entity_type="ORDER", entity_ref="O-1", entity_subtype="HD",
                  root_entity_type="ORDER", root_entity_ref="O-1", status=status, version=version,
                  last_event_id="prev")


BOOK = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [rule("SetState", status="BOOKED")]}


def test_new_entity_starts_created_and_moves_on() -> None:
    d = decide(event("CREATE"), None, workflow(BOOK), NOW)
    assert d.outcome is Outcome.SUCCESS
    assert d.before.status == "CREATED" and d.before.version == 0
    assert d.after is not None and d.after.status == "BOOKED"
    assert d.after.version == 1 and d.after.last_event_id == "e1"
    assert d.after.workflow_name == "ORDER::HD" and d.after.workflow_version == "1.0"


def test_a_new_entity_is_whole_and_valid() -> None:
    """The engine builds a new entity without validation; it must equal what validation would build."""
    d = decide(event("CREATE"), None, workflow({"name": "CREATE", "triggers": [{"status": "CREATED"}],
                                                "rules": []}), NOW)
    new = d.before
    assert set(new.__dict__) == set(type(new).model_fields), "every field set, none missing or extra"
    assert Entity.model_validate_json(new.model_dump_json()) == new
    assert (new.created_on, new.updated_on, new.attributes, new.context) == (NOW, NOW, {}, {})


def test_ruleset_matches_only_in_its_trigger_status() -> None:
    d = decide(event("CREATE"), entity("BOOKED"), workflow(BOOK), NOW)
    assert d.outcome is Outcome.NO_MATCH
    assert d.after is None and d.outgoing == ()
    [record] = d.audit
    assert record.status is Outcome.NO_MATCH and "status BOOKED" in record.message


def test_unknown_event_name_is_no_match() -> None:
    d = decide(event("Nonsense"), entity("CREATED"), workflow(BOOK), NOW)
    assert d.outcome is Outcome.NO_MATCH and d.after is None


def test_all_matching_rulesets_run_in_order_written() -> None:
    first = {"name": "CREATE", "triggers": [{"status": "CREATED"}],
             "rules": [rule("SetAttributes", attributes={"step": "first"})]}
    second = {"name": "CREATE", "subtype": None, "triggers": [{"status": "CREATED"}],
              "rules": [rule("SetAttributes", attributes={"step": "second", "seen": True})]}
    d = decide(event("CREATE"), None, workflow(first, second), NOW)
    assert d.rulesets_run == 2
    assert d.after is not None and d.after.attributes == {"step": "second", "seen": True}
    assert [r.name for r in d.audit if r.category is Category.RULESET] == ["CREATE", "CREATE"]


def test_inline_event_runs_after_the_current_ruleset_in_the_same_execution() -> None:
    create = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SendEvent", eventName="Pick"),
        rule("SetState", status="BOOKED"),
    ]}
    pick = {"name": "Pick", "triggers": [{"status": "BOOKED"}], "rules": [rule("SetState", status="PICKING")]}
    d = decide(event("CREATE"), None, workflow(create, pick), NOW)
    assert d.after is not None and d.after.status == "PICKING"
    assert d.after.version == 1, "inline events belong to the same execution: one version step"
    assert d.outgoing == ()
    states = [(r.data["from"], r.data["to"]) for r in d.audit if r.category is Category.STATE]
    assert states == [("CREATED", "BOOKED"), ("BOOKED", "PICKING")]


def test_event_to_another_entity_goes_out_keyed_by_root() -> None:
    create = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SendEvent", eventName="CreateFulfilment", entityType="FULFILMENT",
             entityRef="{entity.entityRef}-F1", entitySubtype="HD", forwardAttributes=True),
    ]}
    d = decide(event("CREATE", total=12), None, workflow(create), NOW)
    [out] = d.outgoing
    assert (out.entity_type, out.entity_ref, out.entity_subtype) == ("FULFILMENT", "O-1-F1", "HD")
    assert (out.root_entity_type, out.root_entity_ref) == ("ORDER", "O-1")
    assert out.attributes == {"total": 12}
    assert out.partition_key == event("CREATE").partition_key
    assert out.id == derived_event_id("e1", 1), "ids derive from the source event, so a replay repeats them"


def test_events_sent_are_whole_valid_events() -> None:
    """The engine builds outgoing events without validation; they must equal what validation would build."""
    create = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SendEvent", eventName="Reserve", entityType="INVENTORY", entityRef="SKU-1", attributes={"qty": 2}),
        rule("SendEvent", eventName="Booked")]}
    d = decide(event("CREATE"), None, workflow(create, {"name": "Booked", "triggers": [{"status": "CREATED"}],
                                                        "rules": []}), NOW)
    [out] = d.outgoing
    assert set(out.__dict__) == set(type(out).model_fields), "every field set, none missing or extra"
    assert Event.model_validate_json(out.to_json()) == out
    assert (out.entity_type, out.root_entity_type, out.root_entity_ref) == ("INVENTORY", "ORDER", "O-1")


class NotAnAction(Rule[RuleProps]):
    Props = RuleProps

    def run(self, ctx: RuleContext) -> Any:
        return ("BOOKED",)


class SeesDates(Rule[RuleProps]):
    Props = RuleProps
    seen: list[tuple[Any, ...]] = []

    def run(self, ctx: RuleContext) -> tuple[()]:
        scope = ctx.scope
        SeesDates.seen.append((scope["entity"]["createdOn"], scope["entity"]["updatedOn"],
                               scope["event"]["scheduledOn"]))
        return ()


def test_rules_see_the_entitys_and_events_dates_as_iso_8601_text() -> None:
    registry = core_registry()
    registry.register(SeesDates)
    rs = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [rule("SeesDates")]}
    created = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    stored = entity("CREATED").model_copy(update={"created_on": created, "updated_on": created.replace(second=0,
                                                                                                      microsecond=0)})
    due = event("CREATE").model_copy(update={"scheduled_on": NOW})
    SeesDates.seen.clear()
    decide(due, stored, workflow(rs, registry=registry), NOW)
    assert SeesDates.seen == [("2026-01-02T03:04:05.600000+00:00", "2026-01-02T03:04:00+00:00",
                               "2026-11-21T12:00:00+00:00")]


class LooksUp(Rule[RuleProps]):
    """Reads every identity path (and two others) both ways: ``ctx.lookup`` and the scope's views."""

    Props = RuleProps
    seen: list[tuple[tuple[str, ...], Any, Any]] = []
    PATHS = [(root, name) for root in ("event", "entity") for name in IDENTITY_FIELDS] + [
        ("entity", "status"), ("event", "attributes", "total"), ("entity", "nothing"), ("result",)]

    def run(self, ctx: RuleContext) -> tuple[()]:
        LooksUp.seen.extend((path, ctx.lookup(path), lookup_path(ctx.scope, path)) for path in self.PATHS)
        return ()


def test_placeholders_of_identity_fields_read_what_the_scope_shows_without_building_it() -> None:
    registry = core_registry()
    registry.register(LooksUp)
    rs = {"name": "CREATE", "triggers": [{"status": "CREATED"}],
          "rules": [rule("SetState", status="BOOKED"), rule("LooksUp")]}
    child = entity("CREATED").model_copy(update={"parent_entity_type": "CART", "parent_entity_ref": "C-9"})
    LooksUp.seen.clear()
    decide(event("CREATE", total=7), child, workflow(rs, registry=registry), NOW)
    assert len(LooksUp.seen) == len(LooksUp.PATHS)
    assert all(fast == viewed for _, fast, viewed in LooksUp.seen), LooksUp.seen
    seen = {path: fast for path, fast, _ in LooksUp.seen}
    assert seen[("entity", "rootEntityRef")] == "O-1" and seen[("entity", "parentEntityRef")] == "C-9"
    assert seen[("event", "parentEntityRef")] is None and seen[("entity", "status")] == "BOOKED"
    assert seen[("event", "attributes", "total")] == 7

    send = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SendEvent", eventName="Noted", entityType="CART", entityRef="{entity.parentEntityRef}/{event.name}")]}
    [out] = decide(event("CREATE"), child, workflow(send), NOW).outgoing
    assert out.entity_ref == "C-9/CREATE", "a path beside the identity ones still reads the scope"


class Scores(Rule[RuleProps]):
    """Outputs a result without reading the scope: the views are built only when read."""

    Props = RuleProps

    def run(self, ctx: RuleContext) -> tuple[Output]:
        return (Output({"score": 7}),)


def test_a_view_first_read_after_earlier_rules_shows_their_result_and_the_state_they_left() -> None:
    registry = core_registry()
    registry.register(Scores)
    rs = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SetState", status="BOOKED"),
        rule("Scores"),
        {**rule("SetAttributes", attributes={"scored": True}),
         "condition": "result.score = 7 AND entity.status = 'BOOKED'"},
        rule("Scores"),
        rule("SetContext", values={"seen": "{result.score}/{results.Scores.score}"}, resultAs="last")]}
    d = decide(event("CREATE"), entity("CREATED"), workflow(rs, registry=registry), NOW)
    assert d.after is not None and d.after.status == "BOOKED"
    assert d.after.attributes == {"scored": True}
    assert d.after.context == {"seen": "7/7", "last": {"score": 7}}


def test_a_rule_returning_something_else_than_actions_fails_the_event_and_says_what_to_return() -> None:
    registry = core_registry()
    registry.register(NotAnAction)
    rs = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [rule("NotAnAction")]}
    d = decide(event("CREATE"), entity("CREATED"), workflow(rs, registry=registry), NOW)
    assert d.outcome is Outcome.FAILED and d.after is None
    assert "'str', which is not an action: return SetStatus" in d.audit[-1].message


def test_an_events_audit_message_states_the_shared_head_once_and_each_record_without_it() -> None:
    d = decide(event("CREATE", total=5), None, workflow(BOOK), NOW)
    message = orjson.loads(audit_message(d.audit))
    head = {"at": "2026-11-21T12:00:00Z", "eventId": "e1", "eventName": "CREATE", "retailerId": "1",
            "entityType": "ORDER", "entityRef": "O-1", "rootEntityType": "ORDER", "rootEntityRef": "O-1"}
    assert {k: v for k, v in message.items() if k != "records"} == head
    assert [r["category"] for r in message["records"]] == [r.category.value for r in d.audit]
    assert not any(head.keys() & r.keys() for r in message["records"])


def test_an_events_keys_name_it_and_its_root_and_leave_its_json_and_equality_alone() -> None:
    read, fresh = event("CREATE", total=5), event("CREATE", total=5)
    assert (read.entity_key, read.root_key) == (("1", "ORDER", "O-1"), ("1", "ORDER", "O-1"))
    assert read == fresh and read.to_json() == fresh.to_json()
    assert Event.model_validate_json(read.to_json()) == fresh


def test_an_events_audit_message_reads_back_as_its_records_in_order_with_their_inline_events() -> None:
    create = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SendEvent", eventName="Pick"), rule("SetState", status="BOOKED")]}
    pick = {"name": "Pick", "triggers": [{"status": "BOOKED"}], "rules": [rule("SetState", status="PICKING")]}
    d = decide(event("CREATE"), None, workflow(create, pick), NOW)
    records = [r.to_record() for r in d.audit]
    assert {r.event_name for r in records} == {"CREATE", "Pick"}
    assert read_audit_message(audit_message(d.audit)) == records
    assert read_audit_message(audit_message([AuditEntry.of(records[-1])])) == records[-1:]


def test_an_audit_message_of_no_records_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        audit_message([])


def test_audit_messages_of_earlier_versions_still_read() -> None:
    d = decide(event("CREATE", total=5), None, workflow(BOOK), NOW)
    records = [r.to_record() for r in d.audit]
    assert read_audit_message(b"[" + b",".join(r.to_json() for r in records) + b"]") == records
    assert read_audit_message(records[0].to_json()) == records[:1]


def test_set_attributes_from_event_and_literals() -> None:
    rs = {"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [
        rule("SetAttributes", fromEvent=["total"], attributes={"channel": "web"})]}
    d = decide(event("CREATE", total=99.5, ignored=1), None, workflow(rs), NOW)
    assert d.after is not None and d.after.attributes == {"total": 99.5, "channel": "web"}


def test_workflow_that_loops_forever_is_stopped_and_changes_nothing() -> None:
    ping = {"name": "Ping", "triggers": [{"status": "BOOKED"}], "rules": [
        rule("SetAttributes", attributes={"x": 1}), rule("SendEvent", eventName="Ping")]}
    d = decide(event("Ping"), entity("BOOKED"), workflow(ping), NOW, max_inline_depth=5)
    assert d.outcome is Outcome.LOOP_LIMIT
    assert d.after is None and d.outgoing == ()
    assert d.audit[-1].category is Category.EXCEPTION and "inline depth limit of 5" in d.audit[-1].message


class Explode(Rule[RuleProps]):
    Props = RuleProps

    def run(self, ctx: RuleContext) -> tuple[()]:
        raise RuntimeError("payment service said no")


def test_failing_rule_leaves_entity_unchanged_and_audits_why() -> None:
    registry = core_registry()
    registry.register(Explode)
    rs = {"name": "CREATE", "triggers": [{"status": "CREATED"}],
          "rules": [rule("SetState", status="BOOKED"), rule("Explode")]}
    d = decide(event("CREATE"), entity("CREATED"), workflow(rs, registry=registry), NOW)
    assert d.outcome is Outcome.FAILED and d.after is None
    assert "payment service said no" in d.audit[-1].message


def test_rule_records_carry_props_actions_and_duration() -> None:
    d = decide(event("CREATE"), None, workflow(BOOK), NOW)
    [rule_record] = [r for r in d.audit if r.category is Category.RULE]
    assert rule_record.name == "acme.core.SetState"
    assert rule_record.data == {"id": "SetState", "props": {"status": "BOOKED"}, "actions": [{"setStatus": "BOOKED"}]}
    assert rule_record.duration_us is not None and rule_record.duration_us >= 0


@pytest.mark.parametrize(("ruleset", "path", "fragment"), [
    ({"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [rule("SetStatus", status="BOOKED")]},
     ("rulesets", 0, "rules", 0, "name"), "did you mean SetState"),
    ({"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [rule("SetState", state="BOOKED")]},
     ("rulesets", 0, "rules", 0, "props", "status"), "Field required"),
    ({"name": "CREATE", "triggers": [{"status": "CREATD"}], "rules": []},
     ("rulesets", 0, "triggers", 0, "status"), "'CREATD' is not declared"),
    ({"name": "CREATE", "triggers": [{"status": "CREATED"}], "rules": [rule("SetState", status="BOKED")]},
     ("rulesets", 0, "rules", 0, "props"), "'BOKED' is not declared"),
])
def test_bad_workflows_are_refused_with_the_place_and_reason(
    ruleset: dict[str, Any], path: tuple[Any, ...], fragment: str
) -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        workflow(ruleset)
    issues = {issue.path: issue.message for issue in caught.value.issues}
    assert path in issues, issues
    assert fragment in issues[path]


def test_duplicate_ruleset_is_refused() -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        workflow(BOOK, BOOK)
    assert caught.value.issues[0].path == ("rulesets", 1, "name")
    assert "duplicate ruleset 'CREATE'" in caught.value.issues[0].message
