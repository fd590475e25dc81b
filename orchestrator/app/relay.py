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


class Relay:
    def __init__(self, store: EntityStore, publisher: Publisher, topic_names: dict[Topic, str]) -> None:
        self.store = store
        self.publisher = publisher
        self.topic_names = topic_names
        self._ours: dict[RootKey, list[OutboxEntry]] = {}
        self._pending: dict[RootKey, int] = {}
        self._unknown: set[RootKey] = set()

    def track(self, request: CommitRequest, result: CommitResult) -> None:
        """Remember what a commit left in its root's outbox."""
        if result.status is CommitStatus.APPLIED and request.outbox:
            self._ours.setdefault(request.root, []).append(OutboxEntry(request.event_id, tuple(request.outbox)))
        if result.status is not CommitStatus.CONFLICT:
            self._pending[request.root] = result.outbox_pending

    def holds_only_ours(self, root: RootKey) -> bool:
        """Whether the root's outbox holds only what this batch committed (nothing a crash or another worker
        left), as far as the commits so far tell."""
        return root not in self._unknown and self._pending.get(root, 0) == len(self._ours.get(root, ()))

    def check_root(self, root: RootKey) -> None:
        """A duplicate was skipped before committing: its root may hold messages a crash left behind."""
        self._unknown.add(root)

    async def flush(self, ran_here: AbstractSet[str] = frozenset()) -> int:
        """Publish every tracked root's outbox and drop it from Redis; returns the messages published.

        ``ran_here``: ids of events this batch already ran itself; they are left out rather than sent to be
        consumed again. (An outbox read back from Redis is sent whole: a resent event is a duplicate.)"""
        ours, pending, unknown = self._ours, self._pending, self._unknown - self._pending.keys()
        self._ours, self._pending, self._unknown = {}, {}, set()
        to_fetch = [r for r, n in pending.items() if n and n != len(ours.get(r, ()))] + sorted(unknown)
        fetched = await self.store.outboxes(to_fetch)
        outboxes = {r: ours[r] for r, n in pending.items() if n and n == len(ours.get(r, ()))}
        outboxes.update((r, msgs) for r, msgs in zip(to_fetch, fetched, strict=True) if msgs)
        published = await self._publish(outboxes, ran_here)
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


def _event_id(value: bytes) -> str:
    """The id of an event read back from an outbox (this worker's own entries carry it beside the bytes); ''
    for bytes that are no event (the consumer dead-letters them), which must not stop the relay."""
    try:
        event_id = orjson.loads(value).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return event_id if isinstance(event_id, str) else ""
