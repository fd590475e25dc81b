"""The EntityStore on Redis: one Lua step per event, every key of a root entity in one Cluster slot.

Keys (``P`` is the prefix, ``T`` the root's tag ``retailer:TYPE:ref``):

- ``P:{T}:e:TYPE:REF``      entity state, ``b"<version>|" + Entity.to_state_json()`` (the JSON without what the
                            key and the version say)
- ``P:{T}:ids``             HASH of applied events, by a 16-byte digest of the event id (:func:`ledger_id`; a
                            small hash is listpack-encoded), expiring ``dedup_ttl_s`` after the root's last commit
- ``P:{T}:audit:TYPE:REF``  STREAM, one entry per event (field ``a``: a JSON array of its audit records;
                            ``r``: one record appended later, e.g. a webhook's outcome), about ``audit_maxlen``
                            entries, expiring ``audit_retention_s`` after the entity's last event (0: never)
- ``P:{T}:outbox``          LIST, one element per committed event: its messages (:func:`encode_entry`);
                            gone when empty
- ``P:{T}:children:TYPE:REF`` HASH of the entity's children's statuses by ``TYPE:REF``
- ``P:{T}:flight``          SET of the events sent to the root through Kafka and not yet applied (ledger ids),
                            expiring ``dedup_ttl_s`` after the last was sent; gone when empty

A commit is a run of EVALSHA calls of ``commit.lua`` on one connection, sent in parts or at once
(:mod:`orchestrator.adapters.redis_commit`), with the semantics of the in-memory reference store (chained
commits included, see :mod:`orchestrator.adapters.memory_store`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import TimeoutError as RedisTimeoutError

from orchestrator.adapters.redis_client import connect
from orchestrator.adapters.redis_commit import COMMIT_SHA, RedisCommitStream
from orchestrator.model import AuditRecord, Entity, EntityKey, RootKey, read_audit_message
from orchestrator.ports import (
    CommitRequest,
    CommitResult,
    CommitStream,
    OutboxEntry,
    OutMessage,
    Topic,
)

DEFAULT_DEDUP_TTL_S = 7 * 24 * 3600
DEFAULT_AUDIT_RETENTION_S = 7 * 24 * 3600
DEFAULT_TIMEOUT_S = 5.0  # redis-py's own default socket timeout
T = TypeVar("T")
# For each outbox key, drop the head only while it is an entry of a published event (entries start with
# "<event id>|"): another relay may have trimmed them already, and an entry committed since must stay.
# ARGV: for each key in KEYS, the number of its published event ids, then those ids. One LRANGE of as many
# entries and one LTRIM per key: 6.4 instead of 10.5 µs per entry in Redis against LINDEX and LPOP each.
ACK_SCRIPT = """
local removed, at = 0, 1
for k = 1, #KEYS do
  local done, n = {}, tonumber(ARGV[at])
  for i = at + 1, at + n do done[ARGV[i]] = true end
  at = at + n + 1
  local heads, published = redis.call('LRANGE', KEYS[k], 0, n - 1), 0
  for i = 1, #heads do
    local bar = string.find(heads[i], '|', 1, true)
    if not bar or not done[string.sub(heads[i], 1, bar - 1)] then break end
    published = i
  end
  if published > 0 then
    redis.call('LTRIM', KEYS[k], published, -1)
  end
  removed = removed + published
end
return removed
"""
OUTBOX_READ_CHUNK = 1000  # roots per pipeline when outboxes are read back
GLOB_SPECIALS = str.maketrans({c: "\\" + c for c in "*?[]\\"})


_TOPIC_BYTES = {topic: topic.value.encode() for topic in Topic}
_EVALSHA_COMMIT = (b"EVALSHA", COMMIT_SHA.encode())  # bytes: the packer splits a command name given as str


def encode_entry(event_id: str, messages: Sequence[OutMessage]) -> bytes:
    """``<event id>|`` then each message as ``topic|len(key)|len(value)|`` followed by its key and value bytes."""
    parts = [event_id.encode(), b"|"]
    for m in messages:
        parts.append(b"%s|%d|%d|" % (_TOPIC_BYTES[m.topic], len(m.key), len(m.value)))
        parts.append(m.key)
        parts.append(m.value)
    return b"".join(parts)


def ledger_id(event_id: str) -> bytes:
    """How the dedup ledger names an event: 16 bytes (128 bits, so no two ids of a root collide in practice)
    instead of the id itself, usually a 36-character UUID: it halves the ledger, which outlives the audit."""
    return _blake2b(event_id.encode(), digest_size=16).digest()


_blake2b = hashlib.blake2b


def decode_entry(raw: bytes) -> OutboxEntry:
    event_id, _, raw = raw.partition(b"|")
    messages, at = [], 0
    while at < len(raw):
        topic, key_len, value_len, _ = raw[at:at + 64].split(b"|", 3)
        at += len(topic) + len(key_len) + len(value_len) + 3
        key_end = at + int(key_len)
        value_end = key_end + int(value_len)
        messages.append(OutMessage(Topic(topic.decode()), raw[at:key_end], raw[key_end:value_end]))
        at = value_end
    return OutboxEntry(event_id.decode(), tuple(messages))


def decode_state(raw: bytes, key: EntityKey, root: RootKey) -> Entity:
    """``b"<version>|" + Entity.to_state_json()``: the version the store counts, then the state."""
    head, _, body = raw.partition(b"|")
    return Entity.from_state_json(body, key, root, int(head))


def audit_records(fields: dict[bytes, bytes]) -> list[AuditRecord]:
    """The records of one audit stream entry: an event's (``a``, a JSON array) or one appended later (``r``)."""
    return read_audit_message(fields[b"a"] if b"a" in fields else fields[b"r"])


def _glob(text: str) -> str:
    return text.translate(GLOB_SPECIALS)


class KeyLayout:
    def __init__(self, prefix: str) -> None:
        if not prefix or set(prefix) & set("{}"):
            raise ValueError(f"key prefix {prefix!r} must be non-empty and free of braces (they mark hash tags)")
        self.prefix = prefix

    def root(self, root: RootKey) -> str:
        return f"{self.prefix}:{{{root.tag}}}"

    def state(self, root: RootKey, key: EntityKey) -> str:
        return f"{self.root(root)}:e:{key.entity_type}:{key.entity_ref}"

    def applied(self, root: RootKey) -> str:
        return f"{self.root(root)}:ids"

    def audit(self, root: RootKey, key: EntityKey) -> str:
        return f"{self.root(root)}:audit:{key.entity_type}:{key.entity_ref}"

    def children(self, root: RootKey, key: EntityKey) -> str:
        return f"{self.root(root)}:children:{key.entity_type}:{key.entity_ref}"

    def outbox(self, root: RootKey) -> str:
        return f"{self.root(root)}:outbox"

    def in_flight(self, root: RootKey) -> str:
        return f"{self.root(root)}:flight"

    def commit(self, root: RootKey, key: EntityKey, parents: Sequence[EntityKey]) -> list[str]:
        """``commit.lua``'s KEYS: state, applied, outbox, audit, in flight, then each parent's children; the
        root's part is built once (the same names as the methods above, a microsecond less per event)."""
        base = self.root(root)
        entity = f"{key.entity_type}:{key.entity_ref}"
        return [f"{base}:e:{entity}", f"{base}:ids", f"{base}:outbox", f"{base}:audit:{entity}", f"{base}:flight",
                *(f"{base}:children:{p.entity_type}:{p.entity_ref}" for p in parents)]

    def outbox_pattern(self) -> str:
        return f"{_glob(self.prefix)}:{{*}}:outbox"

    def state_pattern(self, key: EntityKey) -> str:
        return f"{_glob(self.prefix)}:{{{_glob(key.retailer_id)}:*}}:e:{_glob(key.entity_type)}:{_glob(key.entity_ref)}"

    def root_of(self, redis_key: bytes | str, suffix: str) -> RootKey | None:
        """The root whose key ``P:{T}<suffix>`` this is, or None for a key of another shape."""
        text = redis_key.decode() if isinstance(redis_key, bytes) else redis_key
        head = f"{self.prefix}:{{"
        if not (text.startswith(head) and text.endswith(f"}}{suffix}")):
            return None
        parts = text[len(head) : len(text) - len(suffix) - 1].split(":", 2)
        return RootKey(*parts) if len(parts) == 3 else None


class RedisStore:
    """Entity state, applied-event ledger, audit streams and outboxes in Redis (``redis.asyncio``).

    Each call (a pipeline of a batch's commands included) must be answered within ``timeout_s``: one timer per
    call, where the client's own socket timeout would arm one per reply (5% of the worker's instructions per
    event). Built with :meth:`from_url`, the client has no socket timeout of its own; a timed-out call closes
    its connection (redis-py drops a connection a cancelled read or write leaves behind).
    """

    def __init__(self, client: Redis, *, prefix: str = "orch", audit_maxlen: int = 1000,
                 dedup_ttl_s: int = DEFAULT_DEDUP_TTL_S, audit_retention_s: int = DEFAULT_AUDIT_RETENTION_S,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if audit_maxlen < 1 or dedup_ttl_s < 1 or audit_retention_s < 0 or timeout_s <= 0:
            raise ValueError("audit_maxlen and dedup_ttl_s must be at least 1, audit_retention_s at least 0, "
                             "timeout_s above 0")
        self.timeout_s = timeout_s
        self.audit_retention_s = audit_retention_s
        self.redis = client
        self.keys = KeyLayout(prefix)
        self.audit_maxlen = audit_maxlen
        self.dedup_ttl_s = dedup_ttl_s

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "orch", audit_maxlen: int = 1000,
                 dedup_ttl_s: int = DEFAULT_DEDUP_TTL_S,
                 audit_retention_s: int = DEFAULT_AUDIT_RETENTION_S,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> RedisStore:
        client = connect(url, decode_responses=False, socket_timeout=None, socket_connect_timeout=timeout_s)
        return cls(client, prefix=prefix, audit_maxlen=audit_maxlen, dedup_ttl_s=dedup_ttl_s,
                   audit_retention_s=audit_retention_s, timeout_s=timeout_s)

    async def close(self) -> None:
        await self.redis.aclose()

    async def answer(self, call: Awaitable[T], what: str, *, wait_s: float = 0.0) -> T:
        """``call`` on this store's client, bounded by ``timeout_s`` (plus ``wait_s`` for a blocking read):
        the client has no socket timeout of its own."""
        limit = self.timeout_s + wait_s
        try:
            async with asyncio.timeout(limit):
                return await call
        except TimeoutError:
            raise RedisTimeoutError(
                f"Redis did not answer {what} within {limit:g} s: check that it is up and reachable "
                "(ORCH_REDIS_URL), or raise ORCH_REDIS_TIMEOUT_S if it is only slow") from None

    async def _scan(self, match: str) -> AsyncIterator[bytes | str]:
        cursor = 0
        while True:
            cursor, names = await self.answer(self.redis.scan(cursor, match=match, count=1000), f"SCAN {match}")
            for name in names:
                yield name
            if cursor == 0:
                return

    async def load(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        if not keys:
            return []
        raw = cast(list[bytes | None],
                   await self.answer(self.redis.mget(self.state_names(keys, roots)), "the batch's state read (MGET)"))
        return self.decode_states(raw, keys, roots)

    def state_names(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[str]:
        return [self.keys.state(root, key) for key, root in zip(keys, roots, strict=True)]

    @staticmethod
    def decode_states(raw: list[bytes | None], keys: Sequence[EntityKey], roots: Sequence[RootKey]
                      ) -> list[Entity | None]:
        """The entities of an MGET of ``state_names(keys, roots)``."""
        return [None if value is None else decode_state(value, key, root)
                for value, key, root in zip(raw, keys, roots, strict=True)]

    async def children(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[dict[str, str]]:
        if not keys:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, root in zip(keys, roots, strict=True):
                pipe.hgetall(self.keys.children(root, key))
            replies = await self.answer(pipe.execute(), "the children's statuses (HGETALL)")
        return [{k.decode(): v.decode() for k, v in reply.items()} for reply in replies]

    async def seen(self, events: Sequence[tuple[RootKey, str]]) -> list[bool]:
        """(Not on the worker's path: the commit step deduplicates; for inspection and tests.)"""
        by_root: dict[RootKey, list[int]] = {}
        for i, (root, _) in enumerate(events):
            by_root.setdefault(root, []).append(i)
        if not by_root:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for root, positions in by_root.items():
                pipe.hmget(self.keys.applied(root), [ledger_id(events[i][1]) for i in positions])
            replies = await self.answer(pipe.execute(), "the dedup ledger (HMGET)")
        out = [False] * len(events)
        for positions, flags in zip(by_root.values(), replies, strict=True):
            for i, flag in zip(positions, flags, strict=True):
                out[i] = flag is not None
        return out

    async def commit(self, requests: Sequence[CommitRequest]) -> list[CommitResult]:
        async with self.commit_stream() as stream:
            await stream.send(requests)
            return await stream.results()

    @asynccontextmanager
    async def commit_stream(self) -> AsyncIterator[CommitStream]:
        stream = RedisCommitStream(self)
        try:
            yield stream
        finally:
            await stream.close()

    def commit_command(self, r: CommitRequest, base: str) -> tuple[bytes | str | int, ...]:
        """The EVALSHA of ``commit.lua`` for one request; ``base``: the request it was decided on, or ''."""
        keys = self.keys.commit(r.root, r.entity_key, [parent for parent, _, _ in r.child_links])
        outbox = encode_entry(r.event_id, r.outbox) if r.outbox else b""
        links = [part for _, child, status in r.child_links for part in (child, status)]
        return (*_EVALSHA_COMMIT, len(keys), *keys, ledger_id(r.event_id), ledger_id(base) if base else b"",
                r.expected_version, self.dedup_ttl_s, self.audit_maxlen,
                b"%d|%b" % (r.expected_version + 1, r.entity) if r.entity else b"", r.audit, outbox,
                self.audit_retention_s, *links)

    async def audit(self, key: EntityKey, root: RootKey, limit: int = 1000) -> list[AuditRecord]:
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]],
                       await self.answer(self.redis.xrange(self.keys.audit(root, key), count=limit), "XRANGE"))
        return [record for _, fields in entries for record in audit_records(fields)][:limit]

    async def append_audit(self, key: EntityKey, root: RootKey, records: Sequence[bytes]) -> None:
        if not records:
            return
        name = self.keys.audit(root, key)
        async with self.redis.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.xadd(name, {"r": record}, maxlen=self.audit_maxlen, approximate=True)
            if self.audit_retention_s:
                pipe.expire(name, self.audit_retention_s)
            await self.answer(pipe.execute(), "the audit append (XADD)")

    async def outbox(self, root: RootKey) -> list[OutboxEntry]:
        [entries] = await self.outboxes([root])
        return entries

    async def outboxes(self, roots: Sequence[RootKey]) -> list[list[OutboxEntry]]:
        # one pipeline, not one command per root on its own pooled connection: a batch redelivered after a
        # crash has a root per event, more than the pool's connections
        found: list[list[OutboxEntry]] = []
        for at in range(0, len(roots), OUTBOX_READ_CHUNK):
            async with self.redis.pipeline(transaction=False) as pipe:
                for root in roots[at:at + OUTBOX_READ_CHUNK]:
                    pipe.lrange(self.keys.outbox(root), 0, -1)
                replies = cast(list[list[bytes]], await self.answer(pipe.execute(), "the outbox read (LRANGE)"))
            found.extend([decode_entry(item) for item in raw] for raw in replies)
        return found

    async def ack_outbox(self, published: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        todo = [(root, event_ids) for root, event_ids in published if event_ids]
        if not todo:
            return
        args: list[str | int] = []
        for _, event_ids in todo:
            args.append(len(event_ids))
            args.extend(event_ids)
        await self.answer(self.redis.eval(ACK_SCRIPT, len(todo), *(self.keys.outbox(root) for root, _ in todo), *args),
                           "the outbox trim (EVAL)")

    async def mark_in_flight(self, sent: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        def mark(pipe: Pipeline, key: str, ids: list[bytes]) -> None:
            pipe.sadd(key, *ids)
            pipe.expire(key, self.dedup_ttl_s)
        await self._on_in_flight(sent, mark, "the in-flight mark (SADD)")

    async def drop_in_flight(self, dropped: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        await self._on_in_flight(dropped, lambda pipe, key, ids: pipe.srem(key, *ids), "the in-flight drop (SREM)")

    async def _on_in_flight(self, events: Sequence[tuple[RootKey, Sequence[str]]],
                            command: Callable[[Pipeline, str, list[bytes]], object], what: str) -> None:
        """``command`` on each root's in-flight set with its events' ledger ids, in one pipeline."""
        todo = [(root, event_ids) for root, event_ids in events if event_ids]
        if not todo:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for root, event_ids in todo:
                command(pipe, self.keys.in_flight(root), [ledger_id(e) for e in event_ids])
            await self.answer(pipe.execute(), what)

    async def roots_with_outbox(self) -> list[RootKey]:
        found: dict[RootKey, None] = {}
        async for name in self._scan(self.keys.outbox_pattern()):
            root = self.keys.root_of(name, ":outbox")
            if root is not None:
                found[root] = None
        return list(found)

    async def locate(self, key: EntityKey) -> RootKey | None:
        """The root an entity is stored under, found by scanning the keyspace (for the CLI, not the hot path)."""
        suffix = f":e:{key.entity_type}:{key.entity_ref}"
        async for name in self._scan(self.keys.state_pattern(key)):
            root = self.keys.root_of(name, suffix)
            if root is not None and root.retailer_id == key.retailer_id:
                return root
        return None
