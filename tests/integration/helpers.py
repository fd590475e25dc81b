"""Shared pieces of the worker integration tests: real `orchestrator worker` subprocesses against the session's
Redis and Kafka-protocol broker, a client that publishes events as a user would, and readers of Redis and topics.

Nothing here is mocked: events go through the broker, state is read back from Redis with the RedisStore.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from orchestrator.adapters.redis_store import RedisStore
from orchestrator.adapters.servers import ensure_topics, free_port, terminate
from orchestrator.app.settings import Settings
from orchestrator.model import AuditRecord, Category, Entity, EntityKey, Outcome, RootKey, read_audit_message

REPO = Path(__file__).resolve().parents[2]
RULESETS = REPO / "rulesets"
RETAILER = "1"
PARTITIONS = 8
STUCK_AFTER_ATTEMPTS = 8  # a batch failed this many times in a row (about 20 s): not a passing outage
RETRYING = re.compile(r"\"(batch|relay)_failed_retrying\"")
FULFILMENT_STEPS = ("Picking", "Packed", "CourierBooked", "Shipped", "Delivered")  # what a warehouse reports
# What an order of ORDER::HD receives (each applied in one write; the events the workflow runs inline, such as
# CompleteOrder after FulfilmentDelivered, are part of the same execution), and the statuses it goes through.
ORDER_RECEIVES = ("CREATE", "FulfilmentPicking", "FulfilmentPacked", "FulfilmentAwaitingCourier", "FulfilmentShipped",
                  "FulfilmentDelivered")
ORDER_STATUSES = ("BOOKED", "PICKING", "PACKED", "AWAITING_COURIER", "SHIPPED", "DELIVERED", "COMPLETE")
ORDER_FINAL_VERSION = len(ORDER_RECEIVES)  # 6
# FULFILMENT::HD: created by the order, then the five warehouse steps.
FULFILMENT_RECEIVES = ("CreateFulfilment", *FULFILMENT_STEPS)
FULFILMENT_FINAL_VERSION = len(FULFILMENT_RECEIVES)  # 6


def orchestrator_executable() -> str:
    """The `orchestrator` console script of the interpreter running the tests (the project's venv)."""
    candidate = Path(sys.executable).parent / "orchestrator"
    if not candidate.is_file():
        raise RuntimeError(f"no `orchestrator` command next to {sys.executable}; `pip install -e .` the project")
    return str(candidate)


# --- events as a client writes them -----------------------------------------------------------------------


def order_key(ref: str) -> bytes:
    """The Kafka key of everything about an order (and its fulfilment): the root entity."""
    return f"{RETAILER}:ORDER:{ref}".encode()


def order_root(ref: str) -> RootKey:
    return RootKey(RETAILER, "ORDER", ref)


def order_entity(ref: str) -> EntityKey:
    return EntityKey(RETAILER, "ORDER", ref)


def fulfilment_ref(ref: str) -> str:
    return f"{ref}-F1"


def fulfilment_entity(ref: str) -> EntityKey:
    return EntityKey(RETAILER, "FULFILMENT", fulfilment_ref(ref))


def create_order(ref: str, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or str(uuid.uuid4()),
        "name": "CREATE",
        "retailerId": RETAILER,
        "entityType": "ORDER",
        "entitySubtype": "HD",
        "entityRef": ref,
        "attributes": {"customer": f"C-{ref}", "total": 120, "lines": [{"sku": "SKU-1", "qty": 2}]},
        "source": "integration-test",
    }


def order_event(ref: str, name: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "name": name, "retailerId": RETAILER, "entityType": "ORDER",
            "entityRef": ref, "source": "integration-test"}


def fulfilment_event(ref: str, name: str) -> dict[str, Any]:
    """A warehouse step, sent to the order's fulfilment; its root (hence Kafka key) is the order."""
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "retailerId": RETAILER,
        "entityType": "FULFILMENT",
        "entitySubtype": "HD",
        "entityRef": fulfilment_ref(ref),
        "rootEntityType": "ORDER",
        "rootEntityRef": ref,
        "source": "integration-test",
    }


def key_of(event: dict[str, Any]) -> bytes:
    root_type = event.get("rootEntityType") or event["entityType"]
    root_ref = event.get("rootEntityRef") or event["entityRef"]
    return f"{event['retailerId']}:{root_type}:{root_ref}".encode()


def interleaved_steps(refs: Sequence[str]) -> list[dict[str, Any]]:
    """Every order's warehouse steps, in order per order, interleaved across orders."""
    return [fulfilment_event(ref, step) for step in FULFILMENT_STEPS for ref in refs]


# --- the stack a test runs against --------------------------------------------------------------------------


@dataclass
class Stack:
    """One test's private slice of the shared servers: its own topics, Redis key prefix and consumer group."""

    bootstrap: str
    redis_url: str
    log_dir: Path
    topic_prefix: str = field(default_factory=lambda: f"wt-{uuid.uuid4().hex[:10]}")
    key_prefix: str = field(default_factory=lambda: f"wt-{uuid.uuid4().hex[:10]}")
    group: str = field(default_factory=lambda: f"wt-group-{uuid.uuid4().hex[:10]}")
    workers: list[WorkerProcess] = field(default_factory=list)
    store: RedisStore | None = None
    producer: AIOKafkaProducer | None = None

    @property
    def events_topic(self) -> str:
        return f"{self.topic_prefix}.events"

    @property
    def audit_topic(self) -> str:
        return f"{self.topic_prefix}.audit"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic_prefix}.dlq"

    def env(self, http_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
        env.update({
            "ORCH_KAFKA_BOOTSTRAP": self.bootstrap,
            "ORCH_REDIS_URL": self.redis_url,
            "ORCH_TOPIC_PREFIX": self.topic_prefix,
            "ORCH_KEY_PREFIX": self.key_prefix,
            "ORCH_CONSUMER_GROUP": self.group,
            "ORCH_HTTP_PORT": str(http_port),
            "ORCH_HTTP_HOST": "127.0.0.1",
            "ORCH_RULESETS": str(RULESETS),
            "ORCH_PARTITIONS": str(PARTITIONS),
            "ORCH_LOG_LEVEL": "DEBUG",  # batch_applied lines tell which worker processed what
            "ORCH_DATA_DIR": str(self.log_dir / "data"),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra or {})
        return env

    def worker(self, name: str, **extra_env: str) -> WorkerProcess:
        port = free_port()
        process = WorkerProcess(name, self.env(port, extra_env), port, self.log_dir / f"{name}.log")
        self.workers.append(process)
        return process

    async def publish(self, events: Iterable[dict[str, Any]]) -> None:
        assert self.producer is not None
        futures = [await self.producer.send(self.events_topic, orjson.dumps(e), key=key_of(e)) for e in events]
        await asyncio.gather(*futures)

    async def publish_raw(self, value: bytes, key: bytes) -> None:
        assert self.producer is not None
        await self.producer.send_and_wait(self.events_topic, value, key=key)

    def redis_store(self) -> RedisStore:
        assert self.store is not None
        return self.store

    async def entities(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        store = self.redis_store()
        out: list[Entity | None] = []
        for i in range(0, len(keys), 500):
            out.extend(await store.load(keys[i : i + 500], roots[i : i + 500]))
        return out

    async def orders(self, refs: Sequence[str]) -> list[Entity | None]:
        return await self.entities([order_entity(r) for r in refs], [order_root(r) for r in refs])

    async def fulfilments(self, refs: Sequence[str]) -> list[Entity | None]:
        return await self.entities([fulfilment_entity(r) for r in refs], [order_root(r) for r in refs])

    async def order_audit(self, ref: str) -> list[AuditRecord]:
        return await self.redis_store().audit(order_entity(ref), order_root(ref), limit=10_000)

    async def fulfilment_audit(self, ref: str) -> list[AuditRecord]:
        return await self.redis_store().audit(fulfilment_entity(ref), order_root(ref), limit=10_000)

    async def wait_for_statuses(self, what: str, load: Callable[[], Awaitable[list[Entity | None]]],
                                statuses: set[str], timeout: float = 90.0) -> list[Entity]:
        """Until every entity is in one of ``statuses``; on timeout, fail saying where they are stuck."""
        deadline = time.monotonic() + timeout
        while True:
            found = await load()
            if all(e is not None and e.status in statuses for e in found):
                return [e for e in found if e is not None]
            self.check_workers_alive()
            if time.monotonic() > deadline:
                tally: dict[str, int] = {}
                for e in found:
                    status = "missing" if e is None else e.status
                    tally[status] = tally.get(status, 0) + 1
                stuck = [e for e in found if e is not None and e.status not in statuses][:2]
                raise AssertionError(f"{what}: not all in {sorted(statuses)} after {timeout:g}s: {tally}\n"
                                     + "".join([await self.explain(e) for e in stuck]) + self.describe_workers())
            await asyncio.sleep(0.2)

    async def wait_for_event_record(self, ref: str, event_id: str, timeout: float = 60.0) -> list[AuditRecord]:
        """Until the order's audit holds the EVENT record of ``event_id`` (the event was processed)."""
        deadline = time.monotonic() + timeout
        while True:
            trail = await self.order_audit(ref)
            if any(r.category is Category.EVENT and r.event_id == event_id for r in trail):
                return trail
            self.check_workers_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"event {event_id} not in the audit of order {ref} after {timeout:g}s\n"
                                     + self.describe_workers())
            await asyncio.sleep(0.2)

    async def wait_for_records(self, topic: str, count: int,
                               timeout: float = 60.0) -> list[ConsumerRecord[bytes, bytes]]:
        """Until ``topic`` holds at least ``count`` records; returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            records = await read_topic(self.bootstrap, topic)
            if len(records) >= count:
                return records
            self.check_workers_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: {len(records)} record(s) after {timeout:g}s, expected {count}\n"
                                     + self.describe_workers())
            await asyncio.sleep(0.3)

    async def explain(self, entity: Entity) -> str:
        """An entity and its audit trail, for failure messages."""
        trail = await self.redis_store().audit(entity.key, entity.root_key, limit=10_000)
        lines = [f"  {r.category.value:9} {r.status.value:8} {r.event_name:26} {r.name:26} {r.message}"
                 f" [{r.event_id}]" for r in trail]
        return f"--- {entity.entity_type} {entity.entity_ref} v{entity.version} {entity.status}:\n" + \
            "\n".join(lines) + "\n"

    def check_workers_alive(self) -> None:
        """Fail fast when a worker died, or keeps failing a batch (it retries forever, by design)."""
        for w in self.workers:
            if w.expected_alive and not w.running:
                raise AssertionError(f"worker {w.name} exited with {w.returncode}\n{w.tail()}")
            if w.expected_alive and w.failing_batches() >= STUCK_AFTER_ATTEMPTS:
                raise AssertionError(f"worker {w.name} keeps failing a batch\n{w.tail()}")

    def describe_workers(self) -> str:
        return "\n".join(f"--- {w.name} ({'running' if w.running else w.returncode}):\n{w.tail()}"
                         for w in self.workers)


@contextlib.asynccontextmanager
async def stack(bootstrap: str, redis_url: str, log_dir: Path) -> AsyncIterator[Stack]:
    """Topics created up front with 8 partitions; workers, producer and Redis keys cleaned up afterwards."""
    s = Stack(bootstrap, redis_url, log_dir)
    every_topic = {s.events_topic, s.audit_topic, s.dlq_topic, *Settings(topic_prefix=s.topic_prefix).topics}
    await ensure_topics(bootstrap, every_topic, PARTITIONS)
    s.store = RedisStore.from_url(redis_url, prefix=s.key_prefix)
    s.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await s.producer.start()
    try:
        yield s
    finally:
        for w in s.workers:
            w.stop()
        await s.producer.stop()
        keys = [k async for k in s.store.redis.scan_iter(match=f"{s.key_prefix}:*", count=1000)]
        for i in range(0, len(keys), 1000):
            await s.store.redis.delete(*keys[i : i + 1000])
        await s.store.close()


# --- worker subprocesses ------------------------------------------------------------------------------------


class WorkerProcess:
    """`orchestrator worker` as a child process; its output (JSON log lines and Faust's) goes to a file."""

    def __init__(self, name: str, env: dict[str, str], http_port: int, log_path: Path) -> None:
        self.name = name
        self.env = env
        self.http_port = http_port
        self.log_path = log_path
        self.expected_alive = False
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [orchestrator_executable(), "worker"], env=self.env, cwd=REPO, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.expected_alive = True
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        """Until GET /health answers 200 (the worker has joined the group and got partitions)."""
        url = f"http://127.0.0.1:{self.http_port}/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise AssertionError(f"worker {self.name} exited with {self.returncode} before it was healthy\n"
                                     f"{self.tail()}")
            if await asyncio.to_thread(_http_status, url) == 200:
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"worker {self.name}: {url} not 200 within {timeout:g}s\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final offset commit — a crash."""
        assert self._process is not None
        self.expected_alive = False
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        self.expected_alive = False
        process = self._process
        if process is not None:
            terminate(process, timeout)

    def lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def json_logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines():
            start = line.find("{")  # Faust's spinner may leave terminal escapes ahead of a line
            if start >= 0:
                with contextlib.suppress(orjson.JSONDecodeError):
                    record = orjson.loads(line[start:])
                    if isinstance(record, dict):
                        out.append(record)
        return out

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [r for r in self.json_logs() if r.get("event") == event]

    def assigned_partitions(self, topic: str) -> set[int]:
        """The worker's latest assignment of ``topic``, from its `partitions_assigned` log lines."""
        assigned = self.logged("partitions_assigned")
        if not assigned:
            return set()
        prefix = f"{topic}["
        return {int(p[len(prefix) : -1]) for p in assigned[-1]["partitions"] if p.startswith(prefix)}

    def failing_batches(self) -> int:
        """The latest attempt number of a batch (its commit, or its relay) failing and retried (0: none)."""
        failed = [line for line in self.lines() if RETRYING.search(line)]
        if not failed:
            return 0
        start = failed[-1].find("{")
        with contextlib.suppress(orjson.JSONDecodeError, ValueError, TypeError):
            return int(orjson.loads(failed[-1][start:]).get("attempt", 0))
        return 0

    def events_received(self) -> int:
        """How many events this worker took in from Kafka, from its `batch_applied` log lines (DEBUG)."""
        return sum(int(r.get("received", 0)) for r in self.logged("batch_applied"))

    def events_processed(self) -> int:
        """How many events this worker ran (those it took in, and those sent within a root that it ran in the
        batch that sent them), from its `batch_applied` log lines (DEBUG)."""
        return sum(int(r.get("events_run", 0)) for r in self.logged("batch_applied"))

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines()[-n:]) or "(no output)"


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


# --- reading topics -----------------------------------------------------------------------------------------


async def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything on every partition of ``topic`` up to its current end (no consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise AssertionError(f"topic {topic} is not in the broker's metadata")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout
        while await _behind(consumer, ends):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end ({ends}) within {timeout:g}s")
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


def header(record: ConsumerRecord[bytes, bytes], name: str) -> bytes | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value)
    return None


def event_records(audit: Iterable[AuditRecord]) -> list[AuditRecord]:
    return [r for r in audit if r.category is Category.EVENT]


def received_events(audit: Sequence[AuditRecord]) -> list[AuditRecord]:
    """The EVENT records of events that came in from Kafka, leaving out the events a workflow ran inline."""
    inline = {r.data.get("eventId") for r in audit if r.category is Category.SENT and r.data.get("inline")}
    return [r for r in event_records(audit) if r.event_id not in inline]


def sent(audit: Iterable[AuditRecord], name: str) -> list[AuditRecord]:
    """Records of ``name`` sent to another entity (through the outbox and the events topic)."""
    return [r for r in audit if r.category is Category.SENT and r.name == name and not r.data.get("inline")]


def duplicated(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes = []
    for i in ids:
        if i in seen:
            dupes.append(i)
        seen.add(i)
    return dupes


async def check_history(s: Stack, ref: str) -> None:
    """The order's and its fulfilment's audit in Redis: every event applied once, in the workflow's order."""
    trail = await s.order_audit(ref)
    assert not duplicated(r.event_id for r in event_records(trail)), f"order {ref}: an event was applied twice"
    received = received_events(trail)
    assert [r.event_name for r in received] == list(ORDER_RECEIVES), f"order {ref}"
    assert all(r.status is Outcome.SUCCESS for r in received), f"order {ref}: {received}"
    assert [r.name for r in trail if r.category is Category.STATE] == list(ORDER_STATUSES), f"order {ref}"
    assert len(sent(trail, "CreateFulfilment")) == 1, f"order {ref}: not one CreateFulfilment sent"
    f_trail = await s.fulfilment_audit(ref)
    assert not duplicated(r.event_id for r in event_records(f_trail)), f"{ref}-F1: an event was applied twice"
    assert [r.event_name for r in received_events(f_trail)] == list(FULFILMENT_RECEIVES), f"{ref}-F1"


async def check_audit_topic(s: Stack, refs: Sequence[str]) -> None:
    """Every EVENT record in Redis of these orders and their fulfilments reached `{prefix}.audit`, keyed by
    the order (copies are allowed: the relay publishes at least once)."""
    on_topic: dict[bytes, set[tuple[str, str]]] = {}
    for record in await read_topic(s.bootstrap, s.audit_topic):
        assert record.key is not None and record.value is not None
        for audit in read_audit_message(record.value):
            if audit.category is Category.EVENT:
                on_topic.setdefault(record.key, set()).add((audit.entity_ref, audit.event_id))
    for ref in refs:
        in_redis = {(r.entity_ref, r.event_id)
                    for r in event_records([*await s.order_audit(ref), *await s.fulfilment_audit(ref)])}
        missing = in_redis - on_topic.get(order_key(ref), set())
        assert len(in_redis) >= len(ORDER_RECEIVES) + len(FULFILMENT_RECEIVES), ref
        assert not missing, f"order {ref}: audited in Redis but not on {s.audit_topic}: {sorted(missing)}"


async def wait_for_outboxes_drained(s: Stack, timeout: float = 30.0) -> None:
    """Until no outbox is left in Redis: everything committed was published and acknowledged."""
    store = s.redis_store()
    deadline = time.monotonic() + timeout
    while roots := await store.roots_with_outbox():
        if time.monotonic() > deadline:
            raise AssertionError(f"outboxes still hold messages after {timeout:g}s: {roots[:5]}…"
                                 + s.describe_workers())
        await asyncio.sleep(0.2)
