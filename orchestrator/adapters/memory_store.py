"""The EntityStore in memory: the reference semantics of the Redis store, for unit tests.

Audit trails are trimmed exactly (Redis trims approximately) and applied event ids never expire.

Chained commits: when one call holds several requests for an entity, a request whose ``expected_version`` is one
above an earlier request's that writes the entity was decided on that request's output. It applies only if that
request applied: otherwise the version it expects may have been written by someone else, on another state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from orchestrator.model import AuditRecord, Entity, EntityKey, RootKey, read_audit_message
from orchestrator.ports import CommitRequest, CommitResult, CommitStatus, CommitStream, OutboxEntry

Slot = tuple[RootKey, str, str]


def _slot(root: RootKey, key: EntityKey) -> Slot:
    return root, key.entity_type, key.entity_ref


class Chain:
    """Which earlier request of one commit each request was decided on (see the module's docstring)."""

    def __init__(self) -> None:
        self._last_write: dict[Slot, CommitRequest] = {}

    def link(self, r: CommitRequest) -> str:
        """The id of the earlier request whose write ``r`` was decided on, or ''."""
        slot = _slot(r.root, r.entity_key)
        base = self._last_write.get(slot)
        if r.entity is not None:
            self._last_write[slot] = r
        return base.event_id if base is not None and base.expected_version + 1 == r.expected_version else ""


def builds_on(requests: Sequence[CommitRequest]) -> list[str]:
    """For each request, the id of the earlier request in the same call whose write it was decided on, or ''."""
    chain = Chain()
    return [chain.link(r) for r in requests]


Read = Callable[[Sequence[EntityKey], Sequence[RootKey]], list[Entity | None]]


class BufferedCommit:
    """A CommitStream that keeps the requests sent and commits them all when the results are asked for."""

    def __init__(self, commit: Callable[[Sequence[CommitRequest]], Awaitable[list[CommitResult]]],
                 read: Read) -> None:
        self._commit = commit
        self._read = read
        self._requests: list[CommitRequest] = []

    async def send(self, requests: Sequence[CommitRequest]) -> None:
        self._requests.extend(requests)

    async def results(self) -> list[CommitResult]:
        requests, self._requests = self._requests, []
        return await self._commit(requests)

    async def results_then_load(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]
                                ) -> tuple[list[CommitResult], list[Entity | None] | None]:
        results = await self.results()
        return results, self._read(keys, roots)


class MemoryStore:
    def __init__(self, *, audit_maxlen: int = 1000) -> None:
        if audit_maxlen < 1:
            raise ValueError("audit_maxlen must be at least 1")
        self.audit_maxlen = audit_maxlen
        self._states: dict[Slot, tuple[int, bytes]] = {}
        self._audit: dict[Slot, deque[bytes]] = {}  # audit messages, as the Redis stream's entries
        self._applied: dict[RootKey, set[str]] = {}
        self._outbox: dict[RootKey, list[OutboxEntry]] = {}
        self._children: dict[Slot, dict[str, str]] = {}
        self._in_flight: dict[RootKey, set[str]] = {}

    async def close(self) -> None:
        return None

    async def load(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        return self._entities(keys, roots)

    def read_states(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        """The read a commit stream makes behind its requests."""
        return self._entities(keys, roots)

    def _entities(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        return [self._entity(key, root) for key, root in zip(keys, roots, strict=True)]

    def _entity(self, key: EntityKey, root: RootKey) -> Entity | None:
        stored = self._states.get(_slot(root, key))
        if stored is None:
            return None
        version, raw = stored
        return Entity.from_state_json(raw, key, root, version)

    async def children(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[dict[str, str]]:
        return [dict(self._children.get(_slot(root, key), {})) for key, root in zip(keys, roots, strict=True)]

    async def seen(self, events: Sequence[tuple[RootKey, str]]) -> list[bool]:
        return [event_id in self._applied.get(root, ()) for root, event_id in events]

    async def commit(self, requests: Sequence[CommitRequest]) -> list[CommitResult]:
        return [self._commit_one(r, base) for r, base in zip(requests, builds_on(requests), strict=True)]

    @asynccontextmanager
    async def commit_stream(self) -> AsyncIterator[CommitStream]:
        yield BufferedCommit(self.commit, self.read_states)

    def _commit_one(self, r: CommitRequest, base: str) -> CommitResult:
        applied = self._applied.get(r.root, set())
        if r.event_id in applied:
            return CommitResult(CommitStatus.DUPLICATE, self._pending(r.root), self._landed(r))
        slot = _slot(r.root, r.entity_key)
        if self._states.get(slot, (0, b""))[0] != r.expected_version or (base and base not in applied):
            return CommitResult(CommitStatus.CONFLICT, self._pending(r.root))
        if r.entity is not None:
            self._states[slot] = (r.expected_version + 1, bytes(r.entity))
        for parent, child, status in r.child_links:
            self._children.setdefault(_slot(r.root, parent), {})[child] = status
        if r.audit:
            self._audit.setdefault(slot, deque(maxlen=self.audit_maxlen)).append(r.audit)
        if r.outbox:
            self._outbox.setdefault(r.root, []).append(OutboxEntry(r.event_id, tuple(r.outbox)))
        self._applied.setdefault(r.root, set()).add(r.event_id)
        return CommitResult(CommitStatus.APPLIED, self._pending(r.root), self._landed(r))

    def _pending(self, root: RootKey) -> int:
        return len(self._outbox.get(root, ()))

    def _landed(self, r: CommitRequest) -> int:
        """The event is no longer in flight; how many of its root's still are."""
        flying = self._in_flight.get(r.root, set())
        flying.discard(r.event_id)
        return len(flying)

    async def audit(self, key: EntityKey, root: RootKey, limit: int = 1000) -> list[AuditRecord]:
        entries = self._audit.get(_slot(root, key), ())
        return [record for raw in entries for record in read_audit_message(raw)][:limit]

    async def append_audit(self, key: EntityKey, root: RootKey, records: Sequence[bytes]) -> None:
        trail = self._audit.setdefault(_slot(root, key), deque(maxlen=self.audit_maxlen))
        trail.extend(records)

    async def outbox(self, root: RootKey) -> list[OutboxEntry]:
        [entries] = await self.outboxes([root])
        return entries

    async def outboxes(self, roots: Sequence[RootKey]) -> list[list[OutboxEntry]]:
        return [list(self._outbox.get(root, ())) for root in roots]

    async def ack_outbox(self, published: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        for root, event_ids in published:
            box = self._outbox.get(root)
            done = set(event_ids)
            while box and box[0].event_id in done:
                box.pop(0)
            if box is not None and not box:
                del self._outbox[root]

    async def roots_with_outbox(self) -> list[RootKey]:
        return list(self._outbox)

    async def mark_in_flight(self, sent: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        for root, event_ids in sent:
            self._in_flight.setdefault(root, set()).update(event_ids)

    async def drop_in_flight(self, dropped: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        for root, event_ids in dropped:
            self._in_flight.get(root, set()).difference_update(event_ids)

    async def locate(self, key: EntityKey) -> RootKey | None:
        """The root an entity is stored under."""
        for root, entity_type, entity_ref in self._states:
            if (root.retailer_id, entity_type, entity_ref) == key:
                return root
        return None
