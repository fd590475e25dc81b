"""The outbox relay: what the atomic step committed to a root's outbox reaches Kafka, then leaves Redis.

Offsets are committed only after a batch's relay returns, so a crash between the Redis write and the Kafka
send is healed by redelivery: the redelivered event is a duplicate, and the duplicate's root outbox is
drained here. Outgoing events carry ids derived from their source event, so a resend is recognisable.
An event the batch ran itself (sent to an entity of the same root) stays in the outbox until its own step is
committed, and is then left out of the publish: a crash before that step re-sends it from the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import orjson
import structlog

from orchestrator.model import RootKey
from orchestrator.ports import (
    CommitRequest,
    CommitResult,
    CommitStatus,
    EntityStore,
    OutboxEntry,
    Publisher,
    Record,
    Topic,
)

log = structlog.get_logger("orchestrator.relay")


@dataclass
class Tracked:
    """What one batch's commits left in its roots' outboxes, as far as the commits tell."""

    ours: dict[RootKey, list[OutboxEntry]] = field(default_factory=dict)  # the entries the batch committed
    pending: dict[RootKey, int] = field(default_factory=dict)  # the outbox's length after the last commit
    unknown: set[RootKey] = field(default_factory=set)  # roots a crash may have left messages in
    # once detached: how many entries the flush will trim from each root where the batch held only its own
    # and sent no event to the root itself through Kafka (the next batch may see them until then)
    trims: dict[RootKey, int] = field(default_factory=dict)


class Relay:
    """Tracks the batch being applied (:meth:`track`); :meth:`detach` hands its outboxes over to be relayed
    (:meth:`flush`) while the next batch is applied. Flushes must run one after the other, in batch order (a
    root's outbox is trimmed from its head), and the next batch but one is applied only after the earlier
    batch's flush: a root's outbox may hold the entries of the batch detached last, not of one before it."""

    def __init__(self, store: EntityStore, publisher: Publisher, topic_names: dict[Topic, str]) -> None:
        self.store = store
        self.publisher = publisher
        self.topic_names = topic_names
        self._batch = Tracked()
        self._in_relay = Tracked()  # the batch detached last, until its flush fails

    def track(self, request: CommitRequest, result: CommitResult) -> None:
        """Remember what a commit left in its root's outbox."""
        if result.status is CommitStatus.APPLIED:
            if request.outbox:
                self._batch.ours.setdefault(request.root, []).append(
                    OutboxEntry(request.event_id, tuple(request.outbox)))
            pending, earlier = result.outbox_pending, self._in_relay.trims.get(request.root, 0)
            if earlier and pending - len(self._batch.ours.get(request.root, ())) == earlier:
                pending -= earlier  # the last batch's entries, not trimmed yet: its flush does, before ours
            self._batch.pending[request.root] = pending
        elif result.status is CommitStatus.DUPLICATE:  # redelivered: whatever its outbox holds is sent
            self._batch.pending[request.root] = result.outbox_pending

    def holds_only_ours(self, root: RootKey) -> bool:
        """Whether the root's outbox holds only what this batch committed (nothing a crash, another worker or
        an earlier batch still being relayed left), as far as the commits so far tell."""
        batch = self._batch
        return root not in batch.unknown and batch.pending.get(root, 0) == len(batch.ours.get(root, ()))

    def check_root(self, root: RootKey) -> None:
        """A duplicate was skipped before committing: its root may hold messages a crash left behind."""
        self._batch.unknown.add(root)

    def detach(self, ran_here: AbstractSet[str] = frozenset()) -> Tracked:
        """The outboxes tracked so far, to be flushed; tracking starts afresh for the next batch, whose commits
        may see these entries in the outboxes until the flush trims them. ``ran_here``: as for :meth:`flush`."""
        batch, self._batch = self._batch, Tracked()
        batch.trims = {root: len(entries) for root, entries in batch.ours.items()
                       if root not in batch.unknown and batch.pending.get(root) == len(entries)
                       and not _sends_to_itself(root, entries, ran_here)}
        self._in_relay = batch
        return batch

    async def flush(self, ran_here: AbstractSet[str] = frozenset(), batch: Tracked | None = None) -> int:
        """Publish every root's outbox ``batch`` tracked (default: those tracked so far) and drop it from
        Redis; returns the messages published. Flushing the same ``batch`` again (after a failure) sends its
        messages again: a resent event is a duplicate.

        ``ran_here``: ids of events this batch already ran itself; they are left out rather than sent to be
        consumed again. (An outbox read back from Redis is sent whole: a resent event is a duplicate.)"""
        batch = self.detach(ran_here) if batch is None else batch
        ours, pending, unknown = batch.ours, batch.pending, batch.unknown - batch.pending.keys()
        to_fetch = [r for r, n in pending.items() if n and n != len(ours.get(r, ()))] + sorted(unknown)
        try:
            fetched = await self.store.outboxes(to_fetch)
            outboxes = {r: ours[r] for r, n in pending.items() if n and n == len(ours.get(r, ()))}
            outboxes.update((r, msgs) for r, msgs in zip(to_fetch, fetched, strict=True) if msgs)
            published = await self._publish(outboxes, ran_here)
        except BaseException:
            if self._in_relay is batch:  # its entries may stay: the next commits must not count on their trim
                self._in_relay = Tracked()
            raise
        log.debug("relayed", messages=published, roots=len(outboxes), read_back=len(to_fetch))
        return published

    async def sweep(self) -> int:
        """Drain every outbox in Redis (at start-up): nothing committed stays unsent."""
        roots = await self.store.roots_with_outbox()
        fetched = await self.store.outboxes(roots)
        published = await self._publish({r: m for r, m in zip(roots, fetched, strict=True) if m})
        if published:
            log.info("outbox_swept", roots=len(roots), messages=published)
        return published

    async def _publish(self, outboxes: Mapping[RootKey, Sequence[OutboxEntry]],
                       ran_here: AbstractSet[str] = frozenset()) -> int:
        if not outboxes:
            return 0
        names, events = self.topic_names, Topic.EVENTS
        records: list[Record] = []
        in_flight: list[tuple[RootKey, list[str]]] = []  # events to their own root (keyed by it): until applied
        for root, entries in outboxes.items():
            own_key, own = root.tag.encode(), []
            for m in (m for entry in entries for m in entry.messages if m.event_id not in ran_here):
                records.append(Record(names[m.topic], m.key, m.value))
                if m.topic is events and m.key == own_key and (event_id := m.event_id or _event_id(m.value)):
                    own.append(event_id)
            if own:
                in_flight.append((root, own))
        await self.store.mark_in_flight(in_flight)
        if records:
            await self.publisher.publish(records)
        await self.store.ack_outbox([(root, [e.event_id for e in entries]) for root, entries in outboxes.items()])
        return len(records)


def _sends_to_itself(root: RootKey, entries: Sequence[OutboxEntry], ran_here: AbstractSet[str]) -> bool:
    """Whether the entries send an event to their own root through Kafka (one the batch did not run itself)."""
    own_key = root.tag.encode()
    return any(m.topic is Topic.EVENTS and m.key == own_key and m.event_id not in ran_here
               for entry in entries for m in entry.messages)


def _event_id(value: bytes) -> str:
    """The id of an event read back from an outbox (this worker's own entries carry it beside the bytes); ''
    for bytes that are no event (the consumer dead-letters them), which must not stop the relay."""
    try:
        event_id = orjson.loads(value).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return event_id if isinstance(event_id, str) else ""
