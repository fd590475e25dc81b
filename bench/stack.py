"""The broker and the Redis every contestant shares: the embedded default (Tansu and redis-server started here),
or the servers named by ORCH_KAFKA_BOOTSTRAP / ORCH_REDIS_URL. Plus what the harness reads from them: a
group's committed offsets, a topic's end offsets, records' timestamps, Redis memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from redis.asyncio import Redis

from bench.config import PARTITIONS, Namespace
from orchestrator.adapters.servers import ensure_topics, find_tansu, start_redis, start_tansu


@dataclass(frozen=True)
class Servers:
    bootstrap: str
    redis_url: str
    embedded: bool  # started here (and ours to flush), or someone else's servers
    log_dir: Path


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    """The servers named by ORCH_KAFKA_BOOTSTRAP / ORCH_REDIS_URL, else an embedded Tansu and Redis."""
    log_dir = Path(tempfile.mkdtemp(prefix="orchestrator-bench-"))
    bootstrap, redis_url = os.environ.get("ORCH_KAFKA_BOOTSTRAP"), os.environ.get("ORCH_REDIS_URL")
    if bootstrap and redis_url:
        yield Servers(bootstrap, redis_url, embedded=False, log_dir=log_dir)
        return
    if bootstrap or redis_url:
        raise SystemExit("set both ORCH_KAFKA_BOOTSTRAP and ORCH_REDIS_URL to use your servers, or neither for the "
                         "embedded default")
    with start_redis(log_dir) as redis_server, start_tansu(log_dir) as tansu:
        yield Servers(tansu.url, redis_server.url, embedded=True, log_dir=log_dir)


async def create_topics(bootstrap: str, ns: Namespace) -> None:
    await ensure_topics(bootstrap, ns.topics, PARTITIONS)


async def drop_namespace(s: Servers, ns: Namespace) -> None:
    """Delete the run's topics and Redis keys, so that the next contestant starts on an empty stage."""
    await drop_topics(s, ns)
    await drop_keys(s, ns)


async def drop_topics(s: Servers, ns: Namespace) -> None:
    """Delete the run's topics (the embedded broker keeps them in memory, and frees it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=s.bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(ns.prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


async def drop_keys(s: Servers, ns: Namespace) -> None:
    redis = Redis.from_url(s.redis_url, socket_timeout=300)
    try:
        if s.embedded:
            await redis.flushdb(asynchronous=True)  # a 100k-order keyspace takes seconds to free
            while int((await redis.info("memory")).get("lazyfree_pending_objects", 0)):
                await asyncio.sleep(0.2)  # the next run measures Redis memory from here
            return
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=f"{ns.key_prefix}:*", count=2000):
            batch.append(key)
            if len(batch) >= 2000:
                await redis.unlink(*batch)
                batch.clear()
        if batch:
            await redis.unlink(*batch)
    finally:
        await redis.aclose()


async def server_versions(s: Servers) -> dict[str, str]:
    """What the contestants ran against, for the results: the Redis server's version as it reports itself,
    and the broker (the embedded Tansu's version; a broker of yours by that name only, not its address)."""
    redis = Redis.from_url(s.redis_url)
    try:
        info = await redis.info("server")
    finally:
        await redis.aclose()
    broker = f"Tansu {_tansu_version()}" if s.embedded else "yours (ORCH_KAFKA_BOOTSTRAP)"
    return {"redis": f"Redis {info.get('redis_version', '?')}", "broker": broker}


def _tansu_version() -> str:
    done = subprocess.run([find_tansu(), "--version"], capture_output=True, text=True, check=False, timeout=10)
    return done.stdout.strip().removeprefix("tansu ") or "?"


async def redis_used_memory(url: str) -> int:
    redis = Redis.from_url(url)
    try:
        info = await redis.info("memory")
        return int(info["used_memory"])
    finally:
        await redis.aclose()


class Offsets:
    """A group's committed offsets, read without joining the group."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    @staticmethod
    def partitions(topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(PARTITIONS)]

    async def committed(self, topic: str) -> dict[int, int]:
        out = {}
        for tp in self.partitions(topic):
            out[tp.partition] = int(await self._consumer.committed(tp) or 0)
        return out


@contextlib.asynccontextmanager
async def offsets(bootstrap: str, group: str) -> AsyncIterator[Offsets]:
    reader = Offsets(bootstrap, group)
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


async def read_records(bootstrap: str, topic: str, since: float, *,
                       first_only: bool = False) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Records of ``topic`` stamped at or after ``since`` (epoch seconds), up to the end; with ``first_only``
    just the first such record of each partition.

    Positions come from the records' timestamps (ListOffsets by time) and the end from the high watermark of
    fetch responses: Tansu answers ListOffsets(latest) with the base offset of the last batch plus one, not the
    end of the partition, so ``end_offsets`` cannot be trusted there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20)
    await consumer.start()
    since_ms = int(since * 1000)
    try:
        tps = Offsets.partitions(topic)
        consumer.assign(tps)
        found = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
        todo = {tp for tp, at in found.items() if at is not None}
        for tp in todo:
            consumer.seek(tp, found[tp].offset)
        idle_rounds = 0
        while todo:
            batches = await consumer.getmany(*todo, timeout_ms=500)
            idle_rounds = 0 if batches else idle_rounds + 1
            for tp, records in batches.items():
                for record in records:
                    if record.timestamp < since_ms:
                        continue
                    yield record
                    if first_only:
                        todo.discard(tp)
                        break
            for tp in list(todo):
                high = consumer.highwater(tp)
                if high is not None and await consumer.position(tp) >= high:
                    todo.discard(tp)
            if idle_rounds >= 6:
                break
    finally:
        await consumer.stop()


async def not_committed(bootstrap: str, topic: str, committed: dict[int, int]) -> dict[int, int]:
    """Per partition, how many records of ``topic`` lie past the group's ``committed`` offset (only those with
    any): what a stalled run tells apart, an event not yet committed from one that was never produced."""
    ends: dict[int, int] = {}
    async for record in read_records(bootstrap, topic, 0.0):
        ends[record.partition] = record.offset + 1
    return {p: end - committed.get(p, 0) for p, end in sorted(ends.items()) if end > committed.get(p, 0)}


async def first_timestamp(bootstrap: str, topic: str, since: float) -> float | None:
    """The earliest (producer) timestamp, in epoch seconds, of the records stamped at or after ``since``."""
    stamps = [r.timestamp async for r in read_records(bootstrap, topic, since, first_only=True)]
    return min(stamps) / 1000 if stamps else None
