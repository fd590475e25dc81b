"""The worker's hot path alone: ``python -m bench.processor_cpu [--orders 3000] [--rounds 3] [--redis-url URL]``.

Runs the worker's BatchProcessor in this process over the bench's load (every order's CREATE, then the five
warehouse steps), in batches of 500 like the worker, against a real Redis (an embedded redis-server unless
``--redis-url``). The events the workflows send to the events topic are fed straight back in (by default the
processor runs those of the same root itself, as the worker does; with ``--same-root-rounds 0`` all of them
are fed back): the same events and commits as ``make bench`` without the broker, the consumer and the other
processes on the machine's two cores. It reports CPU µs per event for each round and checks that every order
reached COMPLETE. Use it to compare a hot-path change with the commit before (alternate them: the machine's
speed still wanders from minute to minute).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import structlog

from bench.config import RETAILER
from bench.load import order_ref, phase1, phase2
from orchestrator.adapters.redis_store import RedisStore
from orchestrator.adapters.servers import start_redis
from orchestrator.app.codec import Incoming
from orchestrator.app.processor import BatchProcessor
from orchestrator.app.settings import Settings
from orchestrator.app.worker import tune_gc
from orchestrator.model import EntityKey, RootKey
from orchestrator.ports import Record
from orchestrator.workflow.loader import load_workflows
from orchestrator.workflow.plugins import discover_rules

BATCH = 500
EVENTS_TOPIC = "events"


class FeedBack:
    """The Publisher: keeps what the workflows send to the events topic, to be processed next."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def publish(self, records: Sequence[Record]) -> None:
        self.sent.extend((r.key, r.value) for r in records if r.topic == EVENTS_TOPIC)


async def process_all(processor: BatchProcessor, feed: FeedBack, messages: list[tuple[bytes | None, bytes]],
                      offset: int) -> tuple[int, int]:
    """Process ``messages`` and everything they cause; returns (events processed, next offset)."""
    count = 0
    while messages:
        for at in range(0, len(messages), BATCH):
            batch = [Incoming(EVENTS_TOPIC, 0, offset + i, key, value)
                     for i, (key, value) in enumerate(messages[at:at + BATCH])]
            offset += len(batch)
            report = await processor.process(batch)
            count += report.events_run
        messages, feed.sent = feed.sent, []
    return count, offset


async def incomplete(store: RedisStore, refs: list[str]) -> list[str]:
    keys = [EntityKey(RETAILER, "ORDER", ref) for ref in refs]
    states = await store.load(keys, [RootKey(*key) for key in keys])
    return [ref for ref, state in zip(refs, states, strict=True) if state is None or state.status != "COMPLETE"]


async def run(redis_url: str, orders: int, rounds: int, same_root_rounds: int) -> list[float]:
    store = RedisStore.from_url(redis_url, prefix=f"cpu{int(time.time())}", audit_retention_s=60)
    feed = FeedBack()
    processor = BatchProcessor(store, load_workflows("rulesets", discover_rules()), feed,
                               (EVENTS_TOPIC, "audit", "dlq", "webhooks"), same_root_rounds=same_root_rounds)
    per_event: list[float] = []
    offset = 0
    tune_gc()  # as the worker does
    try:
        for r in range(rounds):
            refs = [order_ref(f"C{r}-", i) for i in range(orders)]
            creates: list[tuple[bytes | None, bytes]] = [(m.key, m.value) for m in phase1(refs)]
            steps: list[tuple[bytes | None, bytes]] = [(m.key, m.value) for m in phase2(refs)]
            started = time.process_time()
            created, offset = await process_all(processor, feed, creates, offset)
            stepped, offset = await process_all(processor, feed, steps, offset)
            per_event.append((time.process_time() - started) / (created + stepped) * 1e6)
            missing = await incomplete(store, refs)
            if missing:
                raise SystemExit(f"round {r + 1}: {len(missing)} order(s) did not reach COMPLETE, e.g. {missing[0]}")
            print(f"round {r + 1}: {created + stepped:,} events, {per_event[-1]:.1f} µs CPU/event, "
                  f"{orders:,} orders COMPLETE", flush=True)
    finally:
        await store.close()
    return per_event


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.processor_cpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=3000, help="orders per round (default 3,000: 36,000 events)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--redis-url", help="a Redis to use instead of an embedded redis-server")
    p.add_argument("--same-root-rounds", type=int, default=Settings().same_root_rounds,
                   help="as ORCH_SAME_ROOT_ROUNDS (0: every sent event is fed back, as through Kafka)")
    a = p.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    server: AbstractContextManager[Any] = (nullcontext() if a.redis_url
                                           else start_redis(Path(tempfile.mkdtemp(prefix="bench-cpu-"))))
    with server as redis:
        url = a.redis_url or redis.url
        per_event = asyncio.run(run(url, a.orders, a.rounds, a.same_root_rounds))
    print(f"CPU µs/event: {' '.join(f'{x:.1f}' for x in per_event)} (best {min(per_event):.1f})")


if __name__ == "__main__":
    main()
