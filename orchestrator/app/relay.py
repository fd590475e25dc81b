"""The outbox relay: what the atomic step committed to a root's outbox reaches Kafka, then leaves Redis.

Offsets are committed only after a batch's relay returns, so a crash between the Redis write and the Kafka
send is healed by redelivery: the redelivered event is a duplicate, and the duplicate's root outbox is
drained here. Outgoing events carry ids derived from their source event, so a resend is recognisable.

What committed batches leave to publish is gathered (:meth:`Relay.track`) until :meth:`Relay.detach` hands it
over as an :class:`Outgoing`; the worker publishes one batch's while it commits the next. A root whose outbox
holds more than this relay tracked (a crash left entries, or the previous batch's were not yet dropped when
this one committed) is read back from Redis, after the previous publish finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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
class Outgoing:
    """What committed events left to publish: their outbox entries (``ours``), how many entries each root's
    outbox held after our last commit on it (``pending``), roots to read back whole (``unknown``), and records
    that never went through Redis (``direct``: dead letters)."""

    ours: dict[RootKey, list[OutboxEntry]] = field(default_factory=dict)
    pending: dict[RootKey, int] = field(default_factory=dict)
    unknown: set[RootKey] = field(default_factory=set)
    direct: list[Record] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.pending or self.unknown or self.direct)

    def redo(self) -> Outgoing:
        """What is left after a failed publish: every root read back from Redis (what was published and
        dropped is gone from there, the rest is sent again), and the direct records."""
        return Outgoing(unknown={*self.pending, *self.ours, *self.unknown}, direct=self.direct)


class Relay:
    def __init__(self, store: EntityStore, publisher: Publisher, topic_names: dict[Topic, str]) -> None:
        self.store = store
        self.publisher = publisher
        self.topic_names = topic_names
        self._outgoing = Outgoing()

    def track(self, request: CommitRequest, result: CommitResult) -> None:
        """Remember what a commit left in its root's outbox."""
        out = self._outgoing
        if result.status is CommitStatus.APPLIED and request.outbox:
            out.ours.setdefault(request.root, []).append(OutboxEntry(request.event_id, tuple(request.outbox)))
        if result.status is not CommitStatus.CONFLICT:
            out.pending[request.root] = result.outbox_pending

    def check_root(self, root: RootKey) -> None:
        """A duplicate was skipped before committing: its root may hold messages a crash left behind."""
        self._outgoing.unknown.add(root)

    def send_direct(self, records: Sequence[Record]) -> None:
        """Records to publish with the next outbox, that have no place in Redis (dead letters)."""
        self._outgoing.direct.extend(records)

    def detach(self) -> Outgoing:
        """What to publish since the last call; tracking starts afresh."""
        out, self._outgoing = self._outgoing, Outgoing()
        return out

    async def flush(self, outgoing: Outgoing | None = None) -> int:
        """Publish ``outgoing`` (by default what was tracked so far) and drop it from Redis; returns the
        messages published. Call it once the previous flush has returned."""
        out = outgoing if outgoing is not None else self.detach()
        unknown = out.unknown - out.pending.keys()
        to_fetch = [r for r, n in out.pending.items() if n and n != len(out.ours.get(r, ()))] + sorted(unknown)
        fetched = await self.store.outboxes(to_fetch) if to_fetch else []
        outboxes = {r: out.ours[r] for r, n in out.pending.items() if n and n == len(out.ours.get(r, ()))}
        outboxes.update((r, msgs) for r, msgs in zip(to_fetch, fetched, strict=True) if msgs)
        published = await self._publish(outboxes, out.direct)
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

    async def _publish(self, outboxes: Mapping[RootKey, Sequence[OutboxEntry]], direct: Sequence[Record] = ()) -> int:
        names = self.topic_names
        records = [
            Record(names[m.topic], m.key, m.value)
            for entries in outboxes.values() for entry in entries for m in entry.messages
        ]
        published = len(records)
        records.extend(direct)
        if not records:
            return 0
        await self.publisher.publish(records)
        if outboxes:
            await self.store.ack_outbox([(root, [e.event_id for e in entries]) for root, entries in outboxes.items()])
        return published
