"""The ceiling of this stack: raw aiokafka, no rule logic, a fixed I/O shape per batch of events.

Per batch: one fetch (getmany), one MGET of the batch's entity states, one pipeline with a SET of each new
state and an XADD of one audit entry per event, one output event (to ``{prefix}.sink``) and one audit record
(to ``{prefix}.audit``) produced per event and awaited together, then the offsets committed.
The broker may hold a fetch for ``--batch-wait-ms`` at most (as long as a batch may wait): Tansu answers a
waiting fetch only near its deadline, so that wait is a floor under latency.
Run by the harness: ``python -m bench.contestants.limit --bootstrap … --redis-url … --prefix … --group …``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis.asyncio import Redis

from bench.contestants.common import Args, Parsed, audit_entry, next_state, output_event, parse, parse_args
from orchestrator.adapters.redis_client import connect

AUDIT_MAXLEN = 1000
REDIS_TIMEOUT_S = 5.0


async def process(args: Args, redis: Redis, producer: AIOKafkaProducer, values: list[tuple[bytes, bytes]]) -> None:
    events = [(key, parse(args.prefix, value)) for key, value in values]
    keys = list(dict.fromkeys(e.state_key for _, e in events))
    async with asyncio.timeout(REDIS_TIMEOUT_S):  # one deadline per call, as the worker's store has
        found = cast(list[bytes | None], await redis.mget(keys))
    states: dict[str, bytes | None] = dict(zip(keys, found, strict=True))
    out: list[tuple[bytes, Parsed, bytes]] = []
    async with redis.pipeline(transaction=False) as pipe:
        for key, e in events:
            version, state = next_state(e, states[e.state_key])
            states[e.state_key] = state
            audit = audit_entry(e, version)
            pipe.set(e.state_key, state)
            pipe.xadd(e.audit_key, {"r": audit}, maxlen=AUDIT_MAXLEN, approximate=True)
            out.append((key, e, audit))
        async with asyncio.timeout(REDIS_TIMEOUT_S):
            await pipe.execute()
    futures: list[Any] = []
    for key, e, audit in out:
        futures.append(await producer.send(args.sink_topic, output_event(e), key=key))
        futures.append(await producer.send(args.audit_topic, audit, key=key))
    await asyncio.gather(*futures)


async def main(args: Args) -> None:
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
    redis = connect(args.redis_url, socket_timeout=None)  # the worker's client: the same packing and timeouts
    await producer.start()
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=max(1, args.batch_wait_ms), max_records=args.batch_size)
            values = [(r.key or b"", r.value or b"") for records in batches.values() for r in records]
            if not values:
                continue
            await process(args, redis, producer, values)
            await consumer.commit()
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        await producer.stop()
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(parse_args("the limit contestant: raw aiokafka passthrough")))
