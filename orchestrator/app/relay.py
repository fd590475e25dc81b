"""The outbox relay: what the atomic step committed to a root's outbox reaches Kafka, then leaves Redis.

Offsets are committed only after a batch's relay returns, so a crash between the Redis write and the Kafka
send is healed by redelivery: the redelivered event is a duplicate, and the duplicate's root outbox is
drained here. Outgoing events carry ids derived from their source event, so a resend is recognisable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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

    def check_root(self, root: RootKey) -> None:
        """A duplicate was skipped before committing: its root may hold messages a crash left behind."""
        self._unknown.add(root)

    async def flush(self) -> int:
        """Publish every tracked root's outbox and drop it from Redis; returns the messages published."""
        ours, pending, unknown = self._ours, self._pending, self._unknown - self._pending.keys()
        self._ours, self._pending, self._unknown = {}, {}, set()
        to_fetch = [r for r, n in pending.items() if n and n != len(ours.get(r, ()))] + sorted(unknown)
        fetched = await self.store.outboxes(to_fetch)
        outboxes = {r: ours[r] for r, n in pending.items() if n and n == len(ours.get(r, ()))}
        outboxes.update((r, msgs) for r, msgs in zip(to_fetch, fetched, strict=True) if msgs)
        published = await self._publish(outboxes)
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

    async def _publish(self, outboxes: Mapping[RootKey, Sequence[OutboxEntry]]) -> int:
        if not outboxes:
            return 0
        names = self.topic_names
        records = [
            Record(names[m.topic], m.key, m.value)
            for entries in outboxes.values() for entry in entries for m in entry.messages
        ]
        await self.publisher.publish(records)
        await self.store.ack_outbox([(root, [e.event_id for e in entries]) for root, entries in outboxes.items()])
        return len(records)
