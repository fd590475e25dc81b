"""Scaling out: two `orchestrator worker` processes in one consumer group split the 8 partitions of the
events topic; both do work, and every order still sees its events in order (it ends COMPLETE at exactly
the lifecycle's version, which an out-of-order or doubly applied event would break)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers import (
    FULFILMENT_FINAL_VERSION,
    ORDER_FINAL_VERSION,
    PARTITIONS,
    Stack,
    WorkerProcess,
    check_history,
    create_order,
    interleaved_steps,
    stack,
)

pytestmark = pytest.mark.integration

N_ORDERS = 200


@pytest.fixture
async def two_workers(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack(kafka_bootstrap, redis_url, tmp_path) as s:
        first, second = s.worker("worker-1").start(), s.worker("worker-2").start()
        await asyncio.gather(first.wait_healthy(), second.wait_healthy())
        await _wait_for_split(s, first, second)
        yield s


async def _wait_for_split(s: Stack, *workers: WorkerProcess, timeout: float = 60.0) -> None:
    """Until the workers' latest assignments share out every partition of the events topic between them."""
    deadline = time.monotonic() + timeout
    while True:
        owned = [w.assigned_partitions(s.events_topic) for w in workers]
        everything = set().union(*owned)
        if all(owned) and everything == set(range(PARTITIONS)) and sum(map(len, owned)) == PARTITIONS:
            return
        s.check_workers_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"partitions not split between the workers after {timeout:g}s: {owned}\n"
                                 + s.describe_workers())
        await asyncio.sleep(0.25)


async def test_two_workers_share_the_partitions_and_keep_each_order_in_sequence(two_workers: Stack) -> None:
    s = two_workers
    run = uuid.uuid4().hex[:6]
    refs = [f"O-{run}-{i:03d}" for i in range(N_ORDERS)]

    await s.publish(create_order(ref) for ref in refs)
    await s.wait_for_statuses("fulfilments", lambda: s.fulfilments(refs), {"AWAITING_PICK"})
    await s.publish(interleaved_steps(refs))

    orders = await s.wait_for_statuses("orders", lambda: s.orders(refs), {"COMPLETE"})
    fulfilments = await s.wait_for_statuses("fulfilments", lambda: s.fulfilments(refs), {"DELIVERED"})
    wrong = {o.entity_ref: o.version for o in orders if o.version != ORDER_FINAL_VERSION}
    assert not wrong, f"orders not at version {ORDER_FINAL_VERSION}: {wrong}"
    wrong = {f.entity_ref: f.version for f in fulfilments if f.version != FULFILMENT_FINAL_VERSION}
    assert not wrong, f"fulfilments not at version {FULFILMENT_FINAL_VERSION}: {wrong}"
    for ref in refs:
        await check_history(s, ref)

    workers = s.workers
    owned = [w.assigned_partitions(s.events_topic) for w in workers]
    assert all(owned) and not owned[0] & owned[1], f"each worker owns partitions of its own: {owned}"
    processed = {w.name: w.events_processed() for w in workers}
    assert all(processed.values()), f"both workers processed events: {processed}"
    # each order: CREATE, CreateFulfilment, five warehouse steps and the five notifications they send it
    assert sum(processed.values()) >= 12 * N_ORDERS, processed
    received = sum(w.events_received() for w in workers)
    assert received >= 6 * N_ORDERS, "every event published was taken in from Kafka"
    s.check_workers_alive()
