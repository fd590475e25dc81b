"""Running one event through a workflow: all matching rulesets in sequence, inline events after them."""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from orchestrator.engine.compiled import CompiledRule, CompiledRuleset, CompiledWorkflow
from orchestrator.engine.decision import Decision
from orchestrator.model import INITIAL_STATUS, AuditRecord, Category, Entity, Event, Outcome
from orchestrator.rules import Action, RuleContext, SendEvent, SetAttributes, SetStatus

DEFAULT_MAX_INLINE_DEPTH = 20
_EVENT_IDS = uuid.UUID("8f0b7c1e-3a52-4b8e-9d0c-6f2f4f1f7a10")

Timer = Callable[[], int]


class LoopLimit(Exception):
    pass


def derived_event_id(parent_id: str, n: int) -> str:
    """Deterministic: a redelivered event produces the same ids, so downstream dedup holds."""
    return str(uuid.uuid5(_EVENT_IDS, f"{parent_id}/{n}"))


def new_entity(event: Event, workflow: CompiledWorkflow, now: datetime) -> Entity:
    return Entity(
        retailer_id=event.retailer_id,
        entity_type=event.entity_type,
        entity_ref=event.entity_ref,
        entity_subtype=event.entity_subtype or workflow.definition.entity_subtype,
        root_entity_type=event.root_entity_type,
        root_entity_ref=event.root_entity_ref,
        status=INITIAL_STATUS,
        workflow_name=workflow.name,
        workflow_version=workflow.version,
        created_on=now,
        updated_on=now,
    )


class Execution:
    """Mutable working state of one event's execution; ``decide`` is its only public entry."""

    def __init__(
        self, workflow: CompiledWorkflow, entity: Entity, now: datetime, *, max_depth: int, timer: Timer
    ) -> None:
        self.workflow = workflow
        self.entity = entity
        self.now = now
        self.max_depth = max_depth
        self.timer = timer
        self.audit: list[AuditRecord] = []
        self.outgoing: list[Event] = []
        self.sent = 0
        self.rulesets_run = 0
        self.changed = False

    def run(self, event: Event) -> Outcome:
        queue: deque[tuple[Event, int]] = deque([(event, 0)])
        outcome = Outcome.NO_MATCH
        while queue:
            current, depth = queue.popleft()
            if depth > self.max_depth:
                raise LoopLimit(current.name)
            matched = self.workflow.match(
                current.name, current.type, self.entity.entity_type, self.entity.entity_subtype, self.entity.status
            )
            if not matched:
                self.record(current, Category.EVENT, Outcome.NO_MATCH, current.name, self._no_match_message())
                continue
            outcome = Outcome.SUCCESS
            for ruleset in matched:
                inline = self.run_ruleset(current, ruleset)
                queue.extend((e, depth + 1) for e in inline)
            self.record(current, Category.EVENT, Outcome.SUCCESS, current.name, f"{len(matched)} ruleset(s) ran")
        return outcome

    def run_ruleset(self, event: Event, ruleset: CompiledRuleset) -> list[Event]:
        self.rulesets_run += 1
        definition = ruleset.definition
        self.record(
            event, Category.RULESET, Outcome.SUCCESS, definition.name, f"matched in status {self.entity.status}",
            data={"index": ruleset.index, "type": definition.type, "subtype": definition.subtype},
        )
        inline: list[Event] = []
        for compiled in ruleset.rules:
            inline.extend(self.run_rule(event, compiled))
        return inline

    def run_rule(self, event: Event, compiled: CompiledRule) -> list[Event]:
        ctx = RuleContext(event=event, entity=self.entity, now=self.now)
        started = self.timer()
        actions = compiled.rule.run(ctx)
        elapsed_us = (self.timer() - started) // 1000
        self.record(
            event, Category.RULE, Outcome.SUCCESS, compiled.spec.name, "",
            duration_us=elapsed_us,
            data={"props": compiled.rule.props_json(), "actions": [_describe(a) for a in actions]},
        )
        inline: list[Event] = []
        for action in actions:
            produced = self.apply(event, action)
            if produced is not None:
                inline.append(produced)
        return inline

    def apply(self, event: Event, action: Action) -> Event | None:
        if isinstance(action, SetStatus):
            self._set_status(event, action.status)
        elif isinstance(action, SetAttributes):
            self.entity = self.entity.model_copy(update={"attributes": {**self.entity.attributes, **action.values}})
            self.changed = True
        elif isinstance(action, SendEvent):
            return self._send(event, action)
        return None

    def _set_status(self, event: Event, status: str) -> None:
        before = self.entity.status
        self.entity = self.entity.model_copy(update={"status": status})
        self.changed = True
        self.record(event, Category.STATE, Outcome.SUCCESS, status, f"{before} -> {status}",
                    data={"from": before, "to": status})

    def _send(self, event: Event, action: SendEvent) -> Event | None:
        self.sent += 1
        out = self._build_event(event, action)
        inline = action.target is None
        self.record(event, Category.SENT, Outcome.SUCCESS, out.name,
                    "inline" if inline else f"to {out.entity_type}:{out.entity_ref}",
                    data={"eventId": out.id, "inline": inline, "entityType": out.entity_type,
                          "entityRef": out.entity_ref})
        if inline:
            return out
        self.outgoing.append(out)
        return None

    def _build_event(self, event: Event, action: SendEvent) -> Event:
        entity, target = self.entity, action.target
        fields: dict[str, Any] = {
            "id": derived_event_id(event.id, self.sent),
            "name": action.name,
            "type": action.event_type,
            "retailer_id": entity.retailer_id,
            "attributes": action.attributes,
            "source": f"workflow:{self.workflow.name}",
        }
        if target is None:
            fields |= {"entity_type": entity.entity_type, "entity_ref": entity.entity_ref,
                       "entity_subtype": entity.entity_subtype, "root_entity_type": entity.root_entity_type,
                       "root_entity_ref": entity.root_entity_ref}
        else:
            own_root = target.entity_type == entity.root_entity_type
            fields |= {"entity_type": target.entity_type, "entity_ref": target.entity_ref,
                       "entity_subtype": target.entity_subtype,
                       "root_entity_type": target.entity_type if own_root else entity.root_entity_type,
                       "root_entity_ref": target.entity_ref if own_root else entity.root_entity_ref}
        return Event(**fields)

    def _no_match_message(self) -> str:
        e = self.entity
        return f"no ruleset for this event on {e.entity_type}/{e.entity_subtype} in status {e.status}"

    def record(
        self, event: Event, category: Category, status: Outcome, name: str, message: str, *,
        duration_us: int | None = None, data: dict[str, Any] | None = None,
    ) -> None:
        e = self.entity
        self.audit.append(AuditRecord(
            at=self.now, event_id=event.id, event_name=event.name, retailer_id=e.retailer_id,
            entity_type=e.entity_type, entity_ref=e.entity_ref, root_entity_type=e.root_entity_type,
            root_entity_ref=e.root_entity_ref, category=category, status=status, name=name, message=message,
            duration_us=duration_us, data=data or {},
        ))


def decide(
    event: Event,
    entity: Entity | None,
    workflow: CompiledWorkflow,
    now: datetime,
    *,
    max_inline_depth: int = DEFAULT_MAX_INLINE_DEPTH,
    timer: Timer = time.perf_counter_ns,
) -> Decision:
    """Pure: the same event, entity and workflow give the same decision (bar rule durations)."""
    before = entity if entity is not None else new_entity(event, workflow, now)
    run = Execution(workflow, before, now, max_depth=max_inline_depth, timer=timer)
    try:
        outcome = run.run(event)
    except LoopLimit as exc:
        return _abandoned(run, event, before, Outcome.LOOP_LIMIT,
                          f"inline event {exc} exceeded the inline depth limit of {max_inline_depth}: "
                          "the workflow sends events to itself in a loop; check its SendEvent rules")
    except Exception as exc:  # a rule failed: the entity stays as it was, the audit says why
        return _abandoned(run, event, before, Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    if outcome is Outcome.NO_MATCH and not run.changed:
        return Decision(event, outcome, before, None, (), tuple(run.audit), 0)
    after = run.entity.model_copy(
        update={"version": before.version + 1, "last_event_id": event.id, "updated_on": now}
    )
    return Decision(event, outcome, before, after, tuple(run.outgoing), tuple(run.audit), run.rulesets_run)


def _abandoned(run: Execution, event: Event, before: Entity, outcome: Outcome, message: str) -> Decision:
    run.entity = before
    run.record(event, Category.EXCEPTION, outcome, event.name, message)
    return Decision(event, outcome, before, None, (), tuple(run.audit), run.rulesets_run)


def _describe(action: Action) -> dict[str, Any]:
    if isinstance(action, SetStatus):
        return {"setStatus": action.status}
    if isinstance(action, SetAttributes):
        return {"setAttributes": action.values}
    target = action.target
    return {"sendEvent": action.name, **({"to": f"{target.entity_type}:{target.entity_ref}"} if target else {})}
