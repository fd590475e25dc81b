"""Running one event through a workflow: matching rulesets (conditions, else) in sequence, their rules in
dependency order, inline events after them — all in memory, returning a Decision."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from orchestrator.conditions import Condition
from orchestrator.engine.compiled import CompiledRule, CompiledRuleset, CompiledWorkflow
from orchestrator.engine.decision import ChildLink, Decision
from orchestrator.engine.effects import build_event, derived_event_id, describe
from orchestrator.engine.scope import Scope, Working
from orchestrator.model import INITIAL_STATUS, AuditEntry, Category, Entity, Event, Outcome
from orchestrator.model._fast import replace
from orchestrator.rules import (
    Action,
    BusinessError,
    CallWebhook,
    Note,
    Output,
    RuleContext,
    SendEvent,
    SetAttributes,
    SetContext,
    SetStatus,
)

DEFAULT_MAX_INLINE_DEPTH = 20
Timer = Callable[[], int]
SUCCESS = Outcome.SUCCESS


class LoopLimit(Exception):
    pass


def new_entity(event: Event, workflow: CompiledWorkflow, now: datetime) -> Entity:
    return Entity(
        retailer_id=event.retailer_id, entity_type=event.entity_type, entity_ref=event.entity_ref,
        entity_subtype=event.entity_subtype or workflow.definition.entity_subtype,
        root_entity_type=event.root_entity_type, root_entity_ref=event.root_entity_ref, status=INITIAL_STATUS,
        workflow_name=workflow.name, workflow_version=workflow.version, created_on=now, updated_on=now,
        parent_entity_type=event.parent_entity_type, parent_entity_ref=event.parent_entity_ref,
    )


class Execution:
    """Mutable working state of one event's execution; ``decide`` is its only public entry."""

    def __init__(self, workflow: CompiledWorkflow, entity: Entity, now: datetime, *, max_depth: int,
                 timer: Timer, children: Mapping[str, str]) -> None:
        self.workflow, self.now, self.max_depth, self.timer = workflow, now, max_depth, timer
        self.working = Working(entity)
        self.scope = Scope(self.working)
        self.children = dict(children)
        self.audit: list[AuditEntry] = []
        self.outgoing: list[Event] = []
        self.child_links: list[ChildLink] = []
        self.webhooks: list[CallWebhook] = []
        self.sent = self.rulesets_run = 0
        self.current_rule = ""
        e = entity
        self._identity = (e.retailer_id, e.entity_type, e.entity_ref, e.root_entity_type, e.root_entity_ref)

    def run(self, event: Event) -> Outcome:
        queue: deque[tuple[Event, int]] = deque([(event, 0)])
        outcome = Outcome.NO_MATCH
        while queue:
            current, depth = queue.popleft()
            if depth > self.max_depth:
                raise LoopLimit(current.name)
            matched = self.select(current)
            if not matched:
                if depth:
                    self.record(current, Category.EVENT, Outcome.NO_MATCH, current.name, self.no_match())
                continue
            outcome = SUCCESS
            for ruleset in matched:
                queue.extend((e, depth + 1) for e in self.run_ruleset(current, ruleset))
            if depth:
                self.record(current, Category.EVENT, SUCCESS, current.name,
                            f"inline: {len(matched)} ruleset(s) ran", data={"inline": True})
        return outcome

    def select(self, event: Event) -> list[CompiledRuleset]:
        """Rulesets whose condition holds; the else ruleset only when none of them does."""
        w = self.working
        candidates = self.workflow.match(event.name, event.type, w.base.entity_type, w.base.entity_subtype,
                                         w.status)
        chosen = [rs for rs in candidates if not rs.is_else and self.holds(rs.condition, event)]
        return chosen or [rs for rs in candidates if rs.is_else]

    def holds(self, condition: Condition | None, event: Event) -> bool:
        return condition is None or condition.evaluate(self.scope.view(event))

    def run_ruleset(self, event: Event, ruleset: CompiledRuleset) -> list[Event]:
        self.rulesets_run += 1
        definition = ruleset.definition
        how = "else" if ruleset.is_else else f"condition {definition.condition!r}" if definition.condition else ""
        self.record(event, Category.RULESET, SUCCESS, definition.name,
                    f"matched in status {self.working.status}" + (f" ({how})" if how else ""),
                    data={"index": ruleset.index, "type": definition.type, "subtype": definition.subtype})
        inline: list[Event] = []
        for compiled in ruleset.rules:
            inline.extend(self.run_rule(event, compiled))
        return inline

    def run_rule(self, event: Event, compiled: CompiledRule) -> list[Event]:
        self.current_rule = compiled.id
        if not self.holds(compiled.condition, event):
            self.record(event, Category.RULE, Outcome.SKIPPED, compiled.spec.name,
                        f"condition {compiled.spec.condition!r} is false", data={"id": compiled.id})
            return []
        ctx = RuleContext(event, now=self.now, children=self.children, entity_of=self._entity_now,
                          scope=self.scope.view(event))
        started = self.timer()
        actions = compiled.rule.run(ctx)
        elapsed_us = (self.timer() - started) // 1000
        self._record_rule(event, compiled, actions, elapsed_us)
        inline = []
        for action in actions:
            produced = self.apply(event, action)
            if produced is not None:
                inline.append(produced)
        return inline

    def _entity_now(self) -> Entity:
        return self.working.entity

    def _record_rule(self, event: Event, compiled: CompiledRule, actions: Sequence[Action], elapsed_us: int) -> None:
        result = None
        described = []
        for action in actions:
            if isinstance(action, Output):
                result = action.value
            else:
                described.append(describe(action))
        data = {"id": compiled.id, "props": compiled.rule.props_json(), "actions": described}
        if result is not None:
            data["result"] = result
        self.record(event, Category.RULE, SUCCESS, compiled.spec.name, "", duration_us=elapsed_us, data=data)
        self.scope.set_result(compiled.id, result)

    def apply(self, event: Event, action: Action) -> Event | None:
        if isinstance(action, SetStatus):
            self._set_status(event, action.status)
        elif isinstance(action, SetAttributes):
            self.working.update(attributes=action.values)
        elif isinstance(action, SetContext):
            self.working.update(context=action.values)
        elif isinstance(action, Note):
            self.record(event, Category.CUSTOM, SUCCESS, "Log", action.message, data=action.data)
        elif isinstance(action, CallWebhook):
            self.webhooks.append(action)
        elif isinstance(action, SendEvent):
            return self._send(event, action)
        return None

    def _set_status(self, event: Event, status: str) -> None:
        before = self.working.status
        self.working.update(status=status)
        self.record(event, Category.STATE, SUCCESS, status, f"{before} -> {status}",
                    data={"from": before, "to": status})

    def _send(self, event: Event, action: SendEvent) -> Event | None:
        self.sent += 1
        out = build_event(event, self.working.base, action, derived_event_id(event.id, self.sent), self.workflow.name)
        inline = action.target is None
        if action.creates_child:
            child = f"{out.entity_type}:{out.entity_ref}"
            self.children[child] = INITIAL_STATUS
            self.child_links.append(ChildLink(self.working.base.key, child, INITIAL_STATUS))
        self.record(event, Category.SENT, SUCCESS, out.name,
                    "inline" if inline else f"to {out.entity_type}:{out.entity_ref}",
                    data={"eventId": out.id, "inline": inline, "entityType": out.entity_type,
                          "entityRef": out.entity_ref, "attributes": out.attributes})
        if inline:
            return out
        self.outgoing.append(out)
        return None

    def no_match(self) -> str:
        w = self.working
        return f"no ruleset for this event on {w.base.entity_type}/{w.base.entity_subtype} in status {w.status}"

    def record(self, event: Event, category: Category, status: Outcome, name: str, message: str, *,
               duration_us: int | None = None, data: dict[str, Any] | None = None) -> None:
        retailer, etype, ref, root_type, root_ref = self._identity
        self.audit.append(AuditEntry(self.now, event.id, event.name, retailer, etype, ref, root_type, root_ref,
                                     category, status, name, message, duration_us, data or {}))


def decide(
    event: Event,
    entity: Entity | None,
    workflow: CompiledWorkflow,
    now: datetime,
    *,
    children: Mapping[str, str] | None = None,
    max_inline_depth: int = DEFAULT_MAX_INLINE_DEPTH,
    timer: Timer = time.perf_counter_ns,
) -> Decision:
    """Pure: the same event, entity, children and workflow give the same decision (bar rule durations)."""
    before = entity if entity is not None else new_entity(event, workflow, now)
    run = Execution(workflow, before, now, max_depth=max_inline_depth, timer=timer, children=children or {})
    try:
        outcome = run.run(event)
    except LoopLimit as exc:
        return _abandoned(run, event, before, Outcome.LOOP_LIMIT,
                          f"inline event {exc} exceeded the inline depth limit of {max_inline_depth}: "
                          "the workflow sends events to itself in a loop; check its SendEvent rules")
    except BusinessError as exc:
        return _abandoned(run, event, before, Outcome.FAILED, f"failed on purpose: {exc}")
    except Exception as exc:  # a rule failed: the entity stays as it was, the audit says why
        return _abandoned(run, event, before, Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    if outcome is Outcome.NO_MATCH and not run.working.changed:
        run.record(event, Category.EVENT, Outcome.NO_MATCH, event.name, run.no_match(), data=_summary(before, None))
        return Decision(event, outcome, before, None, (), tuple(run.audit), 0)
    w = run.working
    after = replace(before, status=w.status, attributes=w.attributes, context=w.context,
                    version=before.version + 1, last_event_id=event.id, updated_on=now)
    run.record(event, Category.EVENT, outcome, event.name, f"{run.rulesets_run} ruleset(s) ran",
               data=_summary(before, after) | {"eventsSent": run.sent})
    return Decision(event, outcome, before, after, tuple(run.outgoing), tuple(run.audit), run.rulesets_run,
                    tuple(_child_links(run, before, after)), tuple(run.webhooks))


def _child_links(run: Execution, before: Entity, after: Entity) -> list[ChildLink]:
    links = list(run.child_links)
    parent = after.parent_key
    if parent is not None and (after.status != before.status or before.is_new):
        links.append(ChildLink(parent, f"{after.entity_type}:{after.entity_ref}", after.status))
    return links


def _summary(before: Entity, after: Entity | None) -> dict[str, Any]:
    final = after or before
    return {"statusBefore": before.status, "statusAfter": final.status,
            "versionBefore": before.version, "versionAfter": final.version}


def _abandoned(run: Execution, event: Event, before: Entity, outcome: Outcome, message: str) -> Decision:
    run.working = Working(before)
    run.record(event, Category.EXCEPTION, outcome, event.name, message,
               data=_summary(before, None) | {"rule": run.current_rule})
    return Decision(event, outcome, before, None, (), tuple(run.audit), run.rulesets_run)
