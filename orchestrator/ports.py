"""Ports: what the worker needs from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from enum import StrEnum
from typing import NamedTuple, Protocol

from orchestrator.engine import CompiledWorkflow
from orchestrator.model import AuditRecord, Entity, EntityKey, RootKey


class Topic(StrEnum):
    """Which topic an outbox message goes to; the prefix is configuration."""

    EVENTS = "events"
    AUDIT = "audit"
    WEBHOOKS = "webhooks"


class OutMessage(NamedTuple):
    topic: Topic
    key: bytes
    value: bytes
    event_id: str = ""  # the id of the event an EVENTS message carries (not stored): the relay may leave it out


class OutboxEntry(NamedTuple):
    """The messages one committed event left in its root's outbox."""

    event_id: str
    messages: tuple[OutMessage, ...]


class CommitRequest(NamedTuple):  # a tuple: built once per event, a frozen dataclass costs 4x as much
    """One event's atomic step: everything is written, or nothing is.

    ``entity`` is the new state as ``Entity.to_state_json()`` (None leaves the entity untouched, as for NO_MATCH);
    ``expected_version`` is the version the decision was made on (0 for an entity never stored); ``audit`` is
    the event's audit message (``model.audit_message``: the same bytes go to ``{prefix}.audit`` through the
    outbox), ``b""`` for none.
    """

    event_id: str
    root: RootKey
    entity_key: EntityKey
    expected_version: int
    entity: bytes | None
    audit: bytes
    outbox: Sequence[OutMessage] = ()
    child_links: Sequence[tuple[EntityKey, str, str]] = ()  # (parent, TYPE:REF, status)


class CommitStatus(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"  # the event id was applied before: nothing written
    CONFLICT = "CONFLICT"  # the entity's version moved: nothing written, decide again on fresh state


class CommitResult(NamedTuple):
    status: CommitStatus
    outbox_pending: int  # entries in the root's outbox after this step (ours included when APPLIED and non-empty)
    in_flight: int = 0  # events sent to this root through Kafka and not yet applied (see mark_in_flight)


class CommitStream(Protocol):
    """One commit sent in parts: the store may start on the requests sent while the caller decides the next.
    The results are those of one :meth:`EntityStore.commit` of every request sent, in the order sent."""

    async def send(self, requests: Sequence[CommitRequest]) -> None:
        ...

    async def results(self) -> list[CommitResult]:
        """The results of every request sent (once; the stream is done then)."""
        ...

    async def results_then_load(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]
                                ) -> tuple[list[CommitResult], list[Entity | None] | None]:
        """:meth:`results`, and the state of each of ``keys`` as the requests left it, read behind them in the
        same round trip; None instead of the states when the store could not read them behind every request
        (load them again then)."""
        ...


class EntityStore(Protocol):
    """Entity state, the applied-event ledger, per-entity audit streams and per-root outboxes."""

    async def load(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        """Current state of each entity (None for never stored), in one round trip. ``roots[i]`` is the root
        of ``keys[i]``: keys live under their root's hash tag."""
        ...

    async def children(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[dict[str, str]]:
        """For each entity, its children's statuses by ``TYPE:REF`` (kept by the commits), in one round trip."""
        ...

    async def seen(self, events: Sequence[tuple[RootKey, str]]) -> list[bool]:
        """For each (root, event id): was it applied already? One round trip for the whole batch."""
        ...

    async def commit(self, requests: Sequence[CommitRequest]) -> list[CommitResult]:
        """Apply each request as one atomic step, in order, in one round trip (pipelined)."""
        ...

    def commit_stream(self) -> AbstractAsyncContextManager[CommitStream]:
        """A commit sent in parts (:class:`CommitStream`); leaving the context without reading the results
        leaves the store as usable as a commit that failed."""
        ...

    async def audit(self, key: EntityKey, root: RootKey, limit: int = 1000) -> list[AuditRecord]:
        """The entity's audit trail, oldest first (bounded by the store's retention)."""
        ...

    async def append_audit(self, key: EntityKey, root: RootKey, records: Sequence[bytes]) -> None:
        """Add records to the entity's audit trail outside any commit (e.g. a webhook's outcome, after the
        event's step); trimmed like the commit's records. One round trip."""
        ...

    async def outbox(self, root: RootKey) -> list[OutboxEntry]:
        """Entries (the messages of one committed event each) not yet acknowledged as published, oldest first."""
        ...

    async def outboxes(self, roots: Sequence[RootKey]) -> list[list[OutboxEntry]]:
        """:meth:`outbox` of each root, in one round trip however many roots there are."""
        ...

    async def ack_outbox(self, published: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        """The entries of these event ids reached Kafka: drop them from the head of each root's outbox, where
        they still are (another relay may have dropped them already; entries committed since stay)."""
        ...

    async def roots_with_outbox(self) -> list[RootKey]:
        """Roots whose outbox is not empty (for the relay's sweep at start-up)."""
        ...

    async def mark_in_flight(self, sent: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        """These events, sent to their own root, are about to go through Kafka: until each one's commit (applied
        or duplicate) clears it, the root's commits report it in ``in_flight``, and the worker sends the root's
        next events the same way rather than running them ahead of it. One round trip."""
        ...

    async def drop_in_flight(self, dropped: Sequence[tuple[RootKey, Sequence[str]]]) -> None:
        """These events will never be committed (they went to the DLQ): no longer in flight, so their root's
        events run in the batch again. One round trip."""
        ...


class Record(NamedTuple):
    """A message for a Kafka topic, named in full (prefix included)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Publisher(Protocol):
    async def publish(self, records: Sequence[Record]) -> None:
        """Send every record and return once the broker has acknowledged all of them."""
        ...


class Workflows(Protocol):
    """The loaded workflows, by (retailer, entity type, subtype[, version])."""

    def lookup(
        self, retailer_id: str, entity_type: str, entity_subtype: str, version: str | None = None
    ) -> CompiledWorkflow | None:
        """The given version if loaded, else the latest one; None when there is no such workflow."""
        ...

    def summary(self) -> str:
        """One line naming what is loaded, for error messages."""
        ...

    def __len__(self) -> int: ...

