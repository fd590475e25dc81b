"""The ceiling of this stack: raw aiokafka, no rule logic, a fixed I/O shape per batch of events.

Per batch: one fetch (getmany), one MGET of the batch's entity states, one pipeline with a SET of each new
state and an XADD of one audit entry per event, one output event (to ``{prefix}.sink``) and one audit record
(to ``{prefix}.audit``) produced per event and awaited together, then the offsets committed.
The consume loop and its settings are :mod:`bench.contestants.batched`'s.
Run by the harness: ``python -m bench.contestants.limit --bootstrap … --redis-url … --prefix … --group …``.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from bench.contestants.batched import run_batches
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
    redis = connect(args.redis_url, socket_timeout=None)  # the worker's client: the same packing and timeouts
    try:
        await run_batches(args, lambda producer, values: process(args, redis, producer, values))
    finally:
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(parse_args("the limit contestant: raw aiokafka passthrough")))
