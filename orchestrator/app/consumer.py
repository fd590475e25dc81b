"""The events consumer: batches go straight from aiokafka to the processor; offsets are committed after them.

Faust runs the worker around it (the HTTP API, the webhook agent, signals and shutdown), but the events topic
is read here with aiokafka's batched ``getmany``. Faust's streams turn every message into an event, pass it
through a queue from a consumer thread, and keep per-message offset books: that was about a fifth of the
worker's CPU per event, for batches the processor handles whole anyway.

A batch is applied (its atomic Redis steps) and then settled (its outbox relay) in a task of its own: the
next batch is applied meanwhile, while the broker takes the first one's messages. Settles run one after the
other, in batch order, and a batch is applied only once the settle before the previous one is done (at most
one batch is relayed while another is applied). The offsets of settled batches are committed together, at
most every ``ORCH_COMMIT_INTERVAL_MS`` and one commit at a time, beside the relay rather than in its way: a
commit per batch of a few events was a broker request per batch, and the next batch's relay waited for it.

Guarantees:
- a batch's offsets are committed only after :meth:`Runtime.apply` and :meth:`Runtime.settle` returned, so
  after its atomic Redis step and its outbox relay (a crash anywhere before means redelivery, and dedup), and
  after every earlier batch's; commits go out one at a time, so a partition's committed offset only grows;
- a rebalance (and a stop) waits for the batch in hand and its settle, and commits at once: partitions are
  given up only once every batch is committed, and records of a partition revoked meanwhile are left to its
  next owner;
- one partition's records are processed in offset order, and an entity's events share a partition;
- no offset is passed over unread: a fetch that jumps over some is read again from the first one missing
  (app/offset_guard.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from orchestrator.adapters.servers import ensure_topics
from orchestrator.app.codec import Incoming
from orchestrator.app.offset_guard import OffsetGuard
from orchestrator.app.settings import Settings

if TYPE_CHECKING:
    from orchestrator.app.processor import Applied
    from orchestrator.app.worker import Runtime

log = structlog.get_logger("orchestrator.consumer")
FETCH_RETRY_S = 1.0
STOP_GRACE_S = 30.0  # how long a stopping worker lets its batch in hand finish before it is cancelled


def consumer_options(settings: Settings) -> dict[str, Any]:
    """What the events consumer is built with; a test reads it."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": settings.consumer_group,
        "client_id": f"{settings.consumer_group}-events",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.batch_size,
        "fetch_max_wait_ms": settings.fetch_wait_ms,
        "max_partition_fetch_bytes": settings.fetch_partition_bytes,
        "fetch_max_bytes": settings.fetch_max_bytes,
        "session_timeout_ms": int(settings.session_timeout_s * 1000),
        "rebalance_timeout_ms": int(settings.session_timeout_s * 1000),
        "heartbeat_interval_ms": int(max(0.5, settings.session_timeout_s / 5) * 1000),
    }


def to_batch(fetched: Mapping[TopicPartition, Sequence[Any]], owned: set[TopicPartition]) -> list[Incoming]:
    """The records of the partitions still ``owned``, each partition's in offset order."""
    return [Incoming(r.topic, r.partition, r.offset, r.key, r.value)
            for tp, records in fetched.items() if tp in owned for r in records]


def next_offsets(fetched: Mapping[TopicPartition, Sequence[Any]],
                 owned: set[TopicPartition]) -> dict[TopicPartition, int]:
    """The offsets to commit once a batch is processed: the one after each owned partition's last record."""
    return {tp: records[-1].offset + 1 for tp, records in fetched.items() if tp in owned and records}


class EventConsumer(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        self._consumer: AIOKafkaConsumer | None = None
        self._batch_in_hand = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._guard: OffsetGuard[TopicPartition] = OffsetGuard()
        self._settling: asyncio.Task[None] | None = None  # the last applied batch's relay
        self._uncommitted: dict[TopicPartition, int] = {}  # relayed batches' offsets, not committed yet
        self._committing: asyncio.Task[None] | None = None
        # time.monotonic() of the last commit sent; none yet, so the first is due at once (monotonic() counts
        # from boot, so 0.0 would hold the first commit back for the interval on a machine just started)
        self._last_commit = -math.inf

    async def start(self) -> None:
        """Create missing topics, start the runtime (producer, outbox sweep) and join the group."""
        settings = self.settings
        await ensure_topics(settings.kafka_bootstrap, settings.topics, settings.partitions)
        await self.runtime.start()
        self._consumer = AIOKafkaConsumer(**consumer_options(settings))
        self._consumer.subscribe([settings.events_topic], listener=self)
        await self._consumer.start()

    async def run(self) -> None:
        """Fetch, process and commit until :meth:`stop`; the worker runs it as a task that, should it raise,
        crashes the worker (a consumer that stopped consuming must not look healthy)."""
        consumer = self._consumer
        if consumer is None:
            raise RuntimeError("EventConsumer.run before start()")
        self._task = asyncio.current_task()
        wait_ms = max(1, self.settings.batch_wait_ms)
        while not self._stopping.is_set():
            try:
                fetched = await consumer.getmany(timeout_ms=wait_ms, max_records=self.settings.batch_size)
            except KafkaError as exc:  # aiokafka retries broker trouble itself; whatever escapes is waited out
                log.error("fetch_failed_retrying", error=f"{type(exc).__name__}: {exc}", retry_in_s=FETCH_RETRY_S)
                await asyncio.sleep(FETCH_RETRY_S)
                continue
            if fetched:
                async with self._batch_in_hand:
                    await self._process(consumer, fetched)
            self._commit_when_due(consumer)  # when idle too: a quiet partition's offsets still go in time
        await self._settled()

    async def stop(self) -> None:
        """Finish the batch in hand (or give up on it after a grace period: it is redelivered), then leave."""
        self._stopping.set()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            await asyncio.wait({task}, timeout=STOP_GRACE_S)
            task.cancel()  # a no-op when it finished
        for unfinished in (self._settling, self._committing):
            if unfinished is not None:
                unfinished.cancel()  # a no-op when it finished; else its batch is redelivered
        if self._consumer is not None:
            with contextlib.suppress(KafkaError):
                await self._consumer.stop()
        self.runtime.consuming = False
        await self.runtime.stop()

    async def _process(self, consumer: AIOKafkaConsumer, fetched: Mapping[TopicPartition, Sequence[Any]]) -> None:
        owned = consumer.assignment()
        checked = self._guard.check({tp: records for tp, records in fetched.items() if tp in owned})
        batch = to_batch(checked.records, owned)
        if batch:
            await self._process_and_commit(consumer, batch, next_offsets(checked.records, owned))
        self._guard.processed(checked)
        for tp, offset in checked.read_again.items():
            log.info("offsets_read_again", partition=_name(tp), offset=offset, reason="the fetch jumped over offsets")
            consumer.seek(tp, offset)
        for tp, first, last in checked.passed:
            log.warning("offsets_skipped", partition=_name(tp), first=first, last=last,
                        hint="read twice and empty both times: a compacted topic or transaction markers leave such "
                             "gaps; on a topic of plain events it means the broker lost them")

    async def _process_and_commit(self, consumer: AIOKafkaConsumer, batch: list[Incoming],
                                  offsets: dict[TopicPartition, int]) -> None:
        applied = await self.runtime.apply(batch)
        await self._relayed()  # the previous batch's, which ran while this one was applied
        self._settling = asyncio.create_task(self._settle(consumer, applied, offsets))

    async def _relayed(self) -> None:
        """Wait for the last applied batch to be relayed."""
        if self._settling is not None:
            await self._settling

    async def _settled(self) -> None:
        """Wait for the last applied batch to be relayed, and commit every relayed batch's offsets now."""
        await self._relayed()
        while self._uncommitted or self._commit_in_flight():
            if not self._commit_in_flight():
                self._start_commit(self._consumer)
            assert self._committing is not None
            await self._committing
        self._raise_if_commit_failed()

    async def _settle(self, consumer: AIOKafkaConsumer, applied: Applied, offsets: dict[TopicPartition, int]) -> None:
        await self.runtime.settle(applied)
        self._uncommitted.update(offsets)  # a later batch's offset of a partition replaces an earlier one's
        self._commit_when_due(consumer)

    def _commit_in_flight(self) -> bool:
        return self._committing is not None and not self._committing.done()

    def _commit_when_due(self, consumer: AIOKafkaConsumer) -> None:
        interval_s = self.settings.commit_interval_ms / 1000
        if self._uncommitted and not self._commit_in_flight() and time.monotonic() - self._last_commit >= interval_s:
            self._start_commit(consumer)

    def _start_commit(self, consumer: AIOKafkaConsumer | None) -> None:
        if consumer is None:
            raise RuntimeError("EventConsumer commits before start()")
        self._raise_if_commit_failed()
        offsets, self._uncommitted = self._uncommitted, {}
        self._last_commit = time.monotonic()
        self._committing = asyncio.create_task(self._commit(consumer, offsets))

    def _raise_if_commit_failed(self) -> None:
        """A commit that failed other than as Kafka trouble (which ``_commit`` logs) stops the worker, as a failed
        relay does: it is a bug, and the worker must not go on as if its offsets were committed."""
        if self._committing is not None and self._committing.done():
            self._committing.result()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # the group moved on (e.g. a batch outlived the poll interval): redelivered
            log.warning("offsets_not_committed", error=f"{type(exc).__name__}: {exc}", partitions=_names(set(offsets)),
                        hint="the events are redelivered to the partitions' owner and skipped there as duplicates; "
                             "a batch must finish within the group's poll interval (5 min): if this repeats while "
                             "Redis and Kafka are up, lower ORCH_BATCH_SIZE")

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._batch_in_hand:  # the batch in hand is processed and committed before we let go
            await self._settled()
            self._guard.forget(revoked)
            if revoked:
                log.info("partitions_revoked", partitions=_names(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.runtime.consuming = True
        self._guard.forget(assigned)
        log.info("partitions_assigned", partitions=_names(assigned))


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}[{tp.partition}]"


def _names(partitions: set[TopicPartition]) -> list[str]:
    return sorted(_name(tp) for tp in partitions)
