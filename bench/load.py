"""The load: ORDER::HD lifecycles as a web shop and a warehouse publish them, keyed by order.

Phase 1 is every order's CREATE; phase 2 is the five warehouse steps of every order's fulfilment, step by
step across orders (all Picking, then all Packed, ...). Phase 2 goes onto the topic only after phase 1 was
processed: the orchestrator creates each fulfilment from the order's CREATE (CreateFulfilment, on the same
partition), and a warehouse step that came before it would find no fulfilment to move.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaProducer

from bench.config import FULFILMENT_STEPS, RETAILER


@dataclass(frozen=True, slots=True)
class Message:
    event_id: str
    key: bytes
    value: bytes


def order_ref(run: str, i: int) -> str:
    return f"{run}{i:07d}"


def fulfilment_ref(ref: str) -> str:
    return f"{ref}-F1"


def order_key(ref: str) -> bytes:
    return f"{RETAILER}:ORDER:{ref}".encode()


def create(ref: str, i: int) -> Message:
    """A home-delivery order under 1000 (no fraud check): booked, one fulfilment for its lines."""
    event_id = f"{ref}:CREATE"
    body = {
        "id": event_id, "name": "CREATE", "retailerId": RETAILER, "entityType": "ORDER", "entitySubtype": "HD",
        "entityRef": ref, "source": "bench",
        "attributes": {
            "total": round(20 + (i % 900) + 0.99, 2), "customer": f"C-{i % 5000:05d}", "currency": "EUR",
            "lines": [{"sku": f"SKU-{i % 97:03d}", "qty": 1 + i % 3, "price": 9.99},
                      {"sku": f"SKU-{(i * 7) % 97:03d}", "qty": 1, "price": 19.5}],
        },
    }
    return Message(event_id, order_key(ref), orjson.dumps(body))


def step(ref: str, name: str) -> Message:
    """A warehouse step for the order's fulfilment; its root, hence its Kafka key, is the order."""
    event_id = f"{ref}:{name}"
    body = {
        "id": event_id, "name": name, "retailerId": RETAILER, "entityType": "FULFILMENT", "entitySubtype": "HD",
        "entityRef": fulfilment_ref(ref), "rootEntityType": "ORDER", "rootEntityRef": ref, "source": "bench",
    }
    return Message(event_id, order_key(ref), orjson.dumps(body))


def phase1(refs: list[str]) -> Iterator[Message]:
    return (create(ref, i) for i, ref in enumerate(refs))


def phase2(refs: list[str]) -> Iterator[Message]:
    return (step(ref, name) for name in FULFILMENT_STEPS for ref in refs)


async def preload(bootstrap: str, topic: str, messages: Iterable[Message],
                  progress: Callable[[int], None] | None = None) -> int:
    """Put ``messages`` on ``topic`` as fast as the broker takes them; returns how many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=1 << 20,
                                max_request_size=8 << 20)
    await producer.start()
    sent = 0
    try:
        pending: list[asyncio.Future[object]] = []
        for m in messages:
            pending.append(await producer.send(topic, m.value, key=m.key))
            sent += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
                if progress:
                    progress(sent)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


@dataclass(frozen=True, slots=True)
class Scheduled:
    at: float  # seconds after the paced run starts
    message: Message


def paced_schedule(refs: list[str], rate: float, first_delay_s: float, gap_s: float) -> list[Scheduled]:
    """Every order's CREATE, its first step ``first_delay_s`` later and the others ``gap_s`` apart; orders start
    so that all events together come at ``rate`` per second once the run is in full swing.

    The delay keeps each step behind the CreateFulfilment the orchestrator appends to the same partition when
    it processes the CREATE; a contestant that lags by more than that fails the completion check."""
    per_order = 1 + len(FULFILMENT_STEPS)
    interval = per_order / rate
    plan = []
    for i, ref in enumerate(refs):
        start = i * interval
        plan.append(Scheduled(start, create(ref, i)))
        plan.extend(Scheduled(start + first_delay_s + gap_s * k, step(ref, name))
                    for k, name in enumerate(FULFILMENT_STEPS))
    plan.sort(key=lambda s: s.at)
    return plan


async def publish_paced(bootstrap: str, topic: str, plan: list[Scheduled],
                        progress: Callable[[int, float], None] | None = None) -> dict[str, float]:
    """Publish each message at its time; returns the wall-clock publish time (epoch seconds) per event id."""
    # linger 5 ms: the Java client's default since Kafka 4.0. With 0, each event went out as its own produce
    # request, and those requests were a share of the broker's CPU on a machine the contestant shares with it.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    published: dict[str, float] = {}
    pending: list[asyncio.Future[object]] = []
    start = time.monotonic()
    next_report = start + 2.0
    try:
        i = 0
        while i < len(plan):
            now = time.monotonic()
            while i < len(plan) and plan[i].at <= now - start:
                m = plan[i].message
                published[m.event_id] = time.time()
                pending.append(await producer.send(topic, m.value, key=m.key))
                i += 1
            if progress and now >= next_report:
                progress(i, now - start)
                next_report = now + 2.0
            await asyncio.sleep(0.002)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return published
