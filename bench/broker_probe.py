"""Does the broker keep and serve every record when two producers write to one partition while a consumer
reads it? ``python -m bench.broker_probe [--bootstrap HOST:PORT] [--seconds 40] [--guard]`` (default: an
embedded Tansu).

It reports records acknowledged (acks=all) against the partition's end offset (lost writes), offsets the
consumer skipped, and whether the consumer reached the end. Found with it: Tansu 0.6.0 lost acknowledged
records, skipped records on fetch, and stopped serving the partition before its end. ``--guard`` reads
through the worker's offset guard (orchestrator/app/offset_guard.py), which reads a skipped range again.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from orchestrator.adapters.servers import ensure_topics, start_tansu
from orchestrator.app.offset_guard import OffsetGuard


@dataclass
class Reading:
    expected: int = 0
    consumed: int = 0
    skipped: list[tuple[int, int]] = field(default_factory=list)
    read_again: int = 0

    def take(self, fetched: dict[Any, list[Any]]) -> None:
        for records in fetched.values():
            for record in records:
                if record.offset != self.expected:
                    self.skipped.append((self.expected, record.offset))
                self.expected = record.offset + 1
                self.consumed += 1


async def produce(bootstrap: str, topic: str, per_request: int, pause_s: float, stop: asyncio.Event) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    acked = 0
    try:
        while not stop.is_set():
            futures = [await producer.send(topic, b"x" * 200, key=b"k", partition=0) for _ in range(per_request)]
            await asyncio.gather(*futures)
            acked += per_request
            await asyncio.sleep(pause_s)
    finally:
        await producer.stop()
    return acked


async def fetch(consumer: AIOKafkaConsumer, guard: OffsetGuard[TopicPartition] | None, reading: Reading,
                timeout_ms: int) -> None:
    fetched = await consumer.getmany(timeout_ms=timeout_ms)
    if guard is None:
        reading.take(fetched)
        return
    checked = guard.check(fetched)
    reading.take(checked.records)
    guard.processed(checked)
    for tp, offset in checked.read_again.items():
        consumer.seek(tp, offset)
        reading.read_again += 1


async def probe(bootstrap: str, seconds: float, *, guard: bool = False) -> str:
    topic = f"probe-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(topic, 0)
    await ensure_topics(bootstrap, [topic], 1)
    stop = asyncio.Event()
    producers = [asyncio.create_task(produce(bootstrap, topic, 1, 0.0005, stop)),
                 asyncio.create_task(produce(bootstrap, topic, 50, 0.003, stop))]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5)
    await consumer.start()
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    reading, deadline = Reading(), time.monotonic() + seconds
    offset_guard: OffsetGuard[TopicPartition] | None = OffsetGuard() if guard else None
    try:
        while time.monotonic() < deadline:
            await fetch(consumer, offset_guard, reading, 100)
        stop.set()
        acked = sum(await asyncio.gather(*producers))
        end = (await consumer.end_offsets([tp]))[tp]
        deadline = time.monotonic() + 60
        while reading.expected < end and time.monotonic() < deadline:
            await fetch(consumer, offset_guard, reading, 1000)
    finally:
        await consumer.stop()
    return (f"acknowledged {acked:,}, end offset {end:,} ({acked - end:,} lost); consumed {reading.consumed:,}, "
            f"reached offset {reading.expected:,} of {end:,}; skipped offsets: {reading.skipped[:10] or 'none'}"
            + (f"; read again {reading.read_again} time(s)" if guard else ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", help="a broker to probe (default: start an embedded Tansu)")
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--guard", action="store_true", help="read through the worker's offset guard")
    a = p.parse_args()
    servers: AbstractContextManager[Any] = nullcontext() if a.bootstrap else start_tansu(Path(tempfile.mkdtemp()))
    with servers as tansu:
        print(asyncio.run(probe(a.bootstrap or tansu.url, a.seconds, guard=a.guard)))


if __name__ == "__main__":
    main()
