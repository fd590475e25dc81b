"""One batch of consumed events: parse, load state, decide, commit atomically, relay the outbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from orchestrator.app.codec import BadInput, Incoming, commit_request, dead_letter, parse_event
from orchestrator.app.relay import Relay
from orchestrator.engine import CompiledWorkflow, Decision, decide
from orchestrator.model import Entity, EntityKey, Event, Outcome, RootKey
from orchestrator.ports import CommitRequest, CommitStatus, EntityStore, Publisher, Record, Topic, Workflows

log = structlog.get_logger("orchestrator.processor")
MAX_CONFLICT_ROUNDS = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BatchReport:
    received: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    dead_lettered: int = 0
    conflict_rounds: int = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@dataclass
class _Planned:
    message: Incoming
    event: Event
    request: CommitRequest | None = None  # None: a duplicate known before committing
    decision: Decision | None = None


class BatchProcessor:
    """Per batch: one read round trip, one pipelined commit, one produce flush. Order per entity is kept
    because a batch is processed in consumption order and an entity's events share a partition."""

    def __init__(
        self,
        store: EntityStore,
        workflows: Workflows,
        publisher: Publisher,
        topics: tuple[str, str, str, str],
        *,
        max_inline_depth: int = 20,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.workflows = workflows
        self.publisher = publisher
        events, audit, self.dlq_topic, webhooks = topics
        self.relay = Relay(store, publisher, {Topic.EVENTS: events, Topic.AUDIT: audit, Topic.WEBHOOKS: webhooks})
        self.max_inline_depth = max_inline_depth
        self.clock = clock

    async def process(self, batch: Sequence[Incoming]) -> BatchReport:
        report = BatchReport(received=len(batch))
        dead: list[Record] = []
        pending: list[tuple[Incoming, Event]] = []
        for message in batch:
            try:
                pending.append((message, parse_event(message.value)))
            except BadInput as exc:
                dead.append(self._dead_letter(message, exc.reason, str(exc)))
        while pending:
            pending = await self._round(pending, report, dead)
            if pending:
                report.conflict_rounds += 1
                if report.conflict_rounds >= MAX_CONFLICT_ROUNDS:
                    raise RuntimeError(f"{len(pending)} event(s) still conflict after {MAX_CONFLICT_ROUNDS} rounds")
        if dead:
            await self.publisher.publish(dead)
            report.dead_lettered = len(dead)
        return report

    async def _round(
        self, pending: list[tuple[Incoming, Event]], report: BatchReport, dead: list[Record]
    ) -> list[tuple[Incoming, Event]]:
        """Decide and commit; return the events whose entity moved under us, to be decided again."""
        planned = await self._plan(pending, dead)
        to_commit = [p for p in planned if p.request is not None]
        results = await self.store.commit([p.request for p in to_commit if p.request is not None])
        retry: list[tuple[Incoming, Event]] = []
        for p, result in zip(to_commit, results, strict=True):
            if result.status is CommitStatus.CONFLICT:
                retry.append((p.message, p.event))
                continue
            assert p.request is not None and p.decision is not None
            self.relay.track(p.request, result)
            if result.status is CommitStatus.DUPLICATE:
                report.duplicates += 1
            else:
                report.count(p.decision.outcome.value)
                self._log_outcome(p.decision)
        report.duplicates += sum(1 for p in planned if p.request is None)
        await self.relay.flush()
        return retry

    async def _plan(self, pending: list[tuple[Incoming, Event]], dead: list[Record]) -> list[_Planned]:
        keys = list(dict.fromkeys((e.entity_key, e.root_key) for _, e in pending))
        states = await self.store.load([k for k, _ in keys], [r for _, r in keys])
        working: dict[EntityKey, Entity | None] = {k: s for (k, _), s in zip(keys, states, strict=True)}
        children = await self._children(pending, working)
        applied: set[str] = set()
        planned: list[_Planned] = []
        now = self.clock()
        for message, event in pending:  # an event applied before is refused by the commit step itself
            if event.id in applied:
                self.relay.check_root(event.root_key)
                planned.append(_Planned(message, event))
                continue
            decision = self._decide(message, event, working.get(event.entity_key), now, dead=dead, children=children)
            if decision is None:
                continue
            applied.add(event.id)
            if decision.after is not None:
                working[event.entity_key] = decision.after
            for link in decision.child_links:
                children.setdefault(link.parent, {})[link.child] = link.status
            planned.append(_Planned(message, event, commit_request(decision), decision))
        return planned

    async def _children(
        self, pending: list[tuple[Incoming, Event]], working: dict[EntityKey, Entity | None]
    ) -> dict[EntityKey, dict[str, str]]:
        """Children's statuses of the entities whose event can reach a join (IfAllChildren); one round trip,
        only when the batch has such events."""
        wanted = list(dict.fromkeys(
            (e.entity_key, e.root_key) for _, e in pending if self._may_join(e, working.get(e.entity_key))
        ))
        if not wanted:
            return {}
        found = await self.store.children([k for k, _ in wanted], [r for _, r in wanted])
        return {k: c for (k, _), c in zip(wanted, found, strict=True)}

    def _may_join(self, event: Event, entity: Entity | None) -> bool:
        workflow = self._workflow_for(event, entity)
        return workflow is not None and workflow.joins_on(event.name)

    def _decide(
        self, message: Incoming, event: Event, entity: Entity | None, now: datetime, *, dead: list[Record],
        children: dict[EntityKey, dict[str, str]],
    ) -> Decision | None:
        workflow = self._workflow_for(event, entity)
        if workflow is None:
            dead.append(self._dead_letter(message, "NO_WORKFLOW", self._no_workflow(event, entity)))
            return None
        return decide(event, entity, workflow, now, children=children.get(event.entity_key, {}),
                      max_inline_depth=self.max_inline_depth)

    def _no_workflow(self, event: Event, entity: Entity | None) -> str:
        loaded = self.workflows.summary() or "none"
        subtype = entity.entity_subtype if entity else event.entity_subtype
        if subtype is None:
            return (f"{event.entity_type} {event.entity_ref!r} is new and the event has no entitySubtype, so no "
                    f"workflow can be chosen (loaded: {loaded}). Send the first event with entitySubtype; "
                    "events for a child entity also need rootEntityType and rootEntityRef")
        return (f"no workflow for retailer {event.retailer_id!r}, entity type {event.entity_type!r}, subtype "
                f"{subtype!r} (loaded: {loaded}). Add a workflow file for it, or send the right entitySubtype")

    def _workflow_for(self, event: Event, entity: Entity | None) -> CompiledWorkflow | None:
        if entity is not None:
            return self.workflows.lookup(
                entity.retailer_id, entity.entity_type, entity.entity_subtype, entity.workflow_version
            )
        if event.entity_subtype is None:
            return None
        return self.workflows.lookup(event.retailer_id, event.entity_type, event.entity_subtype)

    def _dead_letter(self, message: Incoming, reason: str, detail: str) -> Record:
        log.warning("dead_letter", reason=reason, detail=detail, topic=message.topic,
                    partition=message.partition, offset=message.offset)
        return dead_letter(self.dlq_topic, message, reason, detail)

    @staticmethod
    def _log_outcome(decision: Decision) -> None:
        if decision.outcome in (Outcome.FAILED, Outcome.LOOP_LIMIT):
            event = decision.event
            last = decision.audit[-1].message if decision.audit else ""
            log.warning("event_failed", event_id=event.id, event_name=event.name,
                        entity=f"{event.entity_type}:{event.entity_ref}", retailer=event.retailer_id,
                        outcome=decision.outcome.value, reason=last)


__all__ = ["BatchProcessor", "BatchReport", "RootKey"]
