"""The batched consume loop the limit and the broker contestants share, with one set of consumer and producer
settings, so that the broker's floor is measured exactly as the limit consumes and produces.

Per batch: one fetch (getmany) of at most ``--batch-size`` records, the contestant's handling of it, then the
offsets committed. The broker may hold a fetch for ``--batch-wait-ms`` at most (as long as a batch may wait):
Tansu answers a waiting fetch only near its deadline, so that wait is a floor under latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.contestants.common import Args

# (key, value) of each record of a batch, in each partition's offset order
Handle = Callable[[AIOKafkaProducer, list[tuple[bytes, bytes]]], Awaitable[None]]


async def run_batches(args: Args, handle: Handle) -> None:
    """Consume ``args.events_topic`` in batches until SIGTERM/SIGINT; ``handle`` each, then commit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    consumer = AIOKafkaConsumer(
        args.events_topic, bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=args.batch_size, session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000, max_partition_fetch_bytes=4 << 20,
        fetch_max_wait_ms=max(1, args.batch_wait_ms),  # a fetch waits at most as long as a batch may
    )
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=2, max_batch_size=1 << 20,
                                max_request_size=4 << 20)
    await producer.start()
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=max(1, args.batch_wait_ms), max_records=args.batch_size)
            values = [(r.key or b"", r.value or b"") for records in batches.values() for r in records]
            if not values:
                continue
            await handle(producer, values)
            await consumer.commit()
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        await producer.stop()
