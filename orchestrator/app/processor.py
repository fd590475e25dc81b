"""One batch of consumed events: parse, load state, decide, commit atomically, relay the outbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from orchestrator.app.codec import BadInput, Incoming, commit_request, dead_letter, parse_event
from orchestrator.app.relay import Relay, Tracked
from orchestrator.engine import CompiledWorkflow, Decision, decide
from orchestrator.model import Entity, EntityKey, Event, Outcome, RootKey
from orchestrator.ports import (
    CommitRequest,
    CommitResult,
    CommitStatus,
    CommitStream,
    EntityStore,
    Publisher,
    Record,
    Topic,
    Workflows,
)

log = structlog.get_logger("orchestrator.processor")
MAX_CONFLICT_ROUNDS = 5
SEND_EVERY = 64  # commit requests sent to the store at a time while a round is decided


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BatchReport:
    received: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    dead_lettered: int = 0
    conflict_rounds: int = 0
    ran_here: int = 0  # events the batch sent to entities of the same root and ran itself

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def events_run(self) -> int:
        """Events that reached their atomic step (applied or duplicate): those taken in and those ran here."""
        return sum(self.outcomes.values()) + self.duplicates


@dataclass
class _Planned:
    message: Incoming
    event: Event
    request: CommitRequest | None = None  # None: a duplicate known before committing
    decision: Decision | None = None


Pending = list[tuple[Incoming, Event]]
States = dict[EntityKey, Entity | None]
Dead = list[tuple[Record, Event | None]]  # a dead letter, and the event when the message was one


@dataclass(frozen=True)
class Applied:
    """A batch whose atomic steps are committed in Redis, and what remains before its offsets may be: relay
    its outboxes, publish its dead letters (:meth:`BatchProcessor.settle`)."""

    report: BatchReport
    outboxes: Tracked
    ran_here: frozenset[str]
    dead: Dead


class BatchProcessor:
    """Per round of a batch: one commit, whose steps go to the store in parts while the rest of the round is
    decided, with the states the next round needs read behind it in the same round trip (so a batch reads
    states in one round trip of its own, at its start); per batch, one produce flush. Order per entity is kept
    because a batch is processed in consumption order and an entity's events share a partition.

    :meth:`apply` commits a batch; :meth:`settle` then relays it, and may run while the next batch is applied
    (settles one after the other, in batch order). The next batch's commits may find the earlier one's
    entries still in an outbox: the relay counts them (see :meth:`Relay.detach`), and when the earlier batch
    sends an event to that root itself through Kafka, the root's events go through Kafka too, behind it.

    An event a rule sends to another entity of the same root (the order's fulfilment, the fulfilment's order)
    runs in the same batch, in a round after the one that sent it, up to ``same_root_rounds`` generations
    deep: Kafka would have put it on the same partition, behind the events already there, so running it after
    the batch's own events of that root keeps the order each entity sees. It is still committed to the outbox
    with its sender (so a crash cannot lose it) and left out of the publish once it has run.

    It goes through Kafka instead, as do the root's later ones in the batch, while an earlier event sent to
    the root is still on its way there (in flight, or left in the outbox by a crash): it must not overtake it."""

    def __init__(
        self,
        store: EntityStore,
        workflows: Workflows,
        publisher: Publisher,
        topics: tuple[str, str, str, str],
        *,
        max_inline_depth: int = 20,
        same_root_rounds: int = 8,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.workflows = workflows
        self.publisher = publisher
        events, audit, self.dlq_topic, webhooks = topics
        self.relay = Relay(store, publisher, {Topic.EVENTS: events, Topic.AUDIT: audit, Topic.WEBHOOKS: webhooks})
        self.max_inline_depth = max_inline_depth
        self.same_root_rounds = same_root_rounds
        self.clock = clock

    async def process(self, batch: Sequence[Incoming]) -> BatchReport:
        """Apply the batch and settle it."""
        applied = await self.apply(batch)
        await self.settle(applied)
        return applied.report

    async def apply(self, batch: Sequence[Incoming]) -> Applied:
        """Decide and commit every event of the batch (and those it runs itself); nothing is published yet."""
        report = BatchReport(received=len(batch))
        dead: Dead = []
        pending: Pending = []
        for message in batch:
            try:
                pending.append((message, parse_event(message.value)))
            except BadInput as exc:
                dead.append((self._dead_letter(message, exc.reason, str(exc)), None))
        ran_here: set[str] = set()
        via_kafka: set[RootKey] = set()
        known: States = {}
        generation = 0
        while pending:
            runs_next = generation < self.same_root_rounds  # whether the events it sends may run next
            retry, sent, known = await self._round(pending, report, dead, via_kafka, known, read_ahead=runs_next)
            if retry:
                report.conflict_rounds += 1
                if report.conflict_rounds >= MAX_CONFLICT_ROUNDS:
                    raise RuntimeError(f"{len(retry)} event(s) still conflict after {MAX_CONFLICT_ROUNDS} rounds")
            if not runs_next:
                sent = []  # deeper generations go through Kafka, as every event did before this bound
            generation += bool(sent)
            ran_here.update(e.id for _, e in sent)
            pending = retry + sent
        report.ran_here = len(ran_here)
        report.dead_lettered = len(dead)
        return Applied(report, self.relay.detach(ran_here), frozenset(ran_here), dead)

    async def settle(self, applied: Applied) -> None:
        """Relay the applied batch's outboxes, then publish its dead letters; safe to run again after a
        failure (what was sent already is sent again, and taken as a duplicate)."""
        await self.relay.flush(applied.ran_here, applied.outboxes)
        if applied.dead:
            await self._bury(applied.dead)

    async def _bury(self, dead: Dead) -> None:
        """Publish the dead letters; then the events among them that were sent to their own root through Kafka
        are no longer in flight (otherwise the root's events would go through Kafka until the mark expires)."""
        await self.publisher.publish([record for record, _ in dead])
        never_land: dict[RootKey, list[str]] = {}
        for _, event in dead:
            if event is not None:
                never_land.setdefault(event.root_key, []).append(event.id)
        await self.store.drop_in_flight(list(never_land.items()))

    async def _round(self, pending: Pending, report: BatchReport, dead: Dead, via_kafka: set[RootKey],
                     known: States, *, read_ahead: bool) -> tuple[Pending, Pending, States]:
        """Decide and commit. Returns the events whose entity moved under us, to be decided again, the events
        the applied ones sent to entities of their own root, to run next, and (``read_ahead``) the states of
        those entities as this round's commit left them (read behind it, in its round trip)."""
        async with self.store.commit_stream() as stream:
            planned = await self._plan(pending, dead, stream, known)
            ahead = _next_round_entities(planned) if read_ahead else []
            results, states = await stream.results_then_load([k for k, _ in ahead], [r for _, r in ahead])
        next_states: States = {} if states is None else dict(zip((k for k, _ in ahead), states, strict=True))
        to_commit = [p for p in planned if p.request is not None]
        retry: Pending = []
        sent: Pending = []
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
                if p.decision.outgoing:
                    sent.extend(self._to_run_here(p, result, via_kafka))
        report.duplicates += sum(1 for p in planned if p.request is None)
        return retry, sent, next_states

    def _to_run_here(self, p: _Planned, result: CommitResult, via_kafka: set[RootKey]) -> Pending:
        assert p.request is not None and p.decision is not None
        root = p.request.root
        if root in via_kafka or result.in_flight or not self.relay.holds_only_ours(root):
            via_kafka.add(root)
            return []
        return _same_root(p.message, p.request, p.decision)

    async def _plan(self, pending: Pending, dead: Dead, stream: CommitStream, known: States) -> list[_Planned]:
        """Decide each event on the state the events before it left (``known``: states read behind the last
        round's commit; the others are loaded); the commit requests go to ``stream`` every ``SEND_EVERY``
        decisions, so Redis runs those steps while the next are decided."""
        keys = list(dict.fromkeys((e.entity_key, e.root_key) for _, e in pending if e.entity_key not in known))
        states = await self.store.load([k for k, _ in keys], [r for _, r in keys])
        working: States = {k: s for (k, _), s in zip(keys, states, strict=True)}
        working.update((e.entity_key, known[e.entity_key]) for _, e in pending if e.entity_key in known)
        children = await self._children(pending, working)
        applied: set[str] = set()
        planned: list[_Planned] = []
        unsent: list[CommitRequest] = []
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
            request = commit_request(decision)
            planned.append(_Planned(message, event, request, decision))
            unsent.append(request)
            if len(unsent) >= SEND_EVERY:
                await stream.send(unsent)
                unsent = []
        await stream.send(unsent)
        return planned

    async def _children(
        self, pending: Pending, working: dict[EntityKey, Entity | None]
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
        self, message: Incoming, event: Event, entity: Entity | None, now: datetime, *, dead: Dead,
        children: dict[EntityKey, dict[str, str]],
    ) -> Decision | None:
        workflow = self._workflow_for(event, entity)
        if workflow is None:
            dead.append((self._dead_letter(message, "NO_WORKFLOW", self._no_workflow(event, entity)), event))
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


def _next_round_entities(planned: list[_Planned]) -> list[tuple[EntityKey, RootKey]]:
    """The entities the decisions sent events to within their own root: those the next round will decide on
    (when the sender's step applies)."""
    return list(dict.fromkeys((e.entity_key, e.root_key) for p in planned if p.decision is not None
                              for e in p.decision.outgoing if e.root_key == p.event.root_key))


def _same_root(source: Incoming, request: CommitRequest, decision: Decision) -> Pending:
    """The events an applied decision sent to entities of its own root, as the batch will run them (with the
    bytes Kafka would carry, and the sender's position, for the DLQ)."""
    outgoing = decision.outgoing  # the outbox starts with the events sent, in order
    sent = zip(outgoing, request.outbox[:len(outgoing)], strict=True)
    return [(Incoming(source.topic, source.partition, source.offset, m.key, m.value), event)
            for event, m in sent if event.root_key == request.root]


__all__ = ["Applied", "BatchProcessor", "BatchReport", "RootKey"]
