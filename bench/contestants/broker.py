"""The broker alone: what consuming an event and producing a record for it costs with no state at all.

Per batch: one fetch (getmany), one record per event produced to ``{prefix}.audit`` (``{"eventId": …}``) and
awaited together, then the offsets committed: the limit's Kafka side without Redis. Its paced latency is the
floor every contestant stands on (publish -> fetched -> produced), measured on the same broker at the same
rate; its throughput is the most this machine's broker and client carry.
Run by the harness: ``python -m bench.contestants.broker --bootstrap … --redis-url … --prefix … --group …``
(``--redis-url`` is accepted and unused, as the harness passes it to every contestant).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.contestants.common import Args, parse_args


def echo(value: bytes) -> bytes:
    """The record that says the event went through: its id, read from the event as any consumer must."""
    return orjson.dumps({"eventId": orjson.loads(value).get("id", "")})


async def main(args: Args) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    consumer = AIOKafkaConsumer(  # the limit's consumer settings
        args.events_topic, bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=args.batch_size, session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000, max_partition_fetch_bytes=4 << 20,
        fetch_max_wait_ms=max(1, args.batch_wait_ms),
    )
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=2, max_batch_size=1 << 20,
                                max_request_size=4 << 20)
    await producer.start()
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=max(1, args.batch_wait_ms), max_records=args.batch_size)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            futures: list[Any] = [await producer.send(args.audit_topic, echo(r.value or b"{}"), key=r.key)
                                  for r in records]
            await asyncio.gather(*futures)
            await consumer.commit()
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(parse_args("the broker contestant: consume, produce one record per event, commit")))
