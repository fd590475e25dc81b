"""The broker alone: what consuming an event and producing a record for it costs with no state at all.

Per batch (:mod:`bench.contestants.batched`, the limit's consume loop): one record per event produced to
``{prefix}.audit`` (``{"eventId": …}``) and awaited together, then the offsets committed: the limit's Kafka
side without Redis. Its paced latency is the floor every contestant stands on (publish -> fetched ->
produced), measured on the same broker at the same rate; its throughput is the most this machine's broker
and client carry.
Run by the harness: ``python -m bench.contestants.broker --bootstrap … --redis-url … --prefix … --group …``
(``--redis-url`` is accepted and unused, as the harness passes it to every contestant).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from bench.contestants.batched import run_batches
from bench.contestants.common import Args, parse_args


def echo(value: bytes) -> bytes:
    """The record that says the event went through: its id, read from the event as any consumer must."""
    return orjson.dumps({"eventId": orjson.loads(value).get("id", "")})


async def echo_batch(args: Args, producer: AIOKafkaProducer, values: list[tuple[bytes, bytes]]) -> None:
    futures: list[Any] = [await producer.send(args.audit_topic, echo(value or b"{}"), key=key)
                          for key, value in values]
    await asyncio.gather(*futures)


async def main(args: Args) -> None:
    await run_batches(args, lambda producer, values: echo_batch(args, producer, values))


if __name__ == "__main__":
    asyncio.run(main(parse_args("the broker contestant: consume, produce one record per event, commit")))
