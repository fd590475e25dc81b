"""Crash safety: a worker SIGKILLed mid-stream loses nothing and applies nothing twice.

What makes it hold: Kafka offsets are committed only after an event's atomic Redis step, so whatever the dead
worker had not committed is redelivered to the next one; a redelivered event whose step was applied is
recognised by its id and skipped; and what an applied step left in its outbox is published by the next
worker (at start-up sweep, or when the duplicate is skipped), with the same derived event ids as before.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
from helpers import (
    FULFILMENT_FINAL_VERSION,
    FULFILMENT_STEPS,
    ORDER_FINAL_VERSION,
    Stack,
    check_audit_topic,
    check_history,
    create_order,
    fulfilment_event,
    read_topic,
    received_events,
    stack,
    wait_for_outboxes_drained,
)

from orchestrator.model import Entity

pytestmark = pytest.mark.integration

N_ORDERS = 300
WORKER_ENV = {
    "ORCH_BATCH_SIZE": "25",  # many small batches: a kill lands between them, with some offsets uncommitted
    "ORCH_SESSION_TIMEOUT_S": "6",  # the group gives a killed worker's partitions to the next one sooner
}


@pytest.fixture
async def crash_stack(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack(kafka_bootstrap, redis_url, tmp_path) as s:
        yield s


async def _kill_when(s: Stack, what: str, refs: list[str], progressed: Callable[[Entity | None], bool],
                     timeout: float = 60.0) -> int:
    """SIGKILL the running worker as soon as some order has ``progressed``; returns how many had."""
    [worker] = [w for w in s.workers if w.running]
    deadline = time.monotonic() + timeout
    while True:
        count = sum(map(progressed, await s.orders(refs)))
        if count:
            worker.kill()
            return count
        s.check_workers_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"no order {what} after {timeout:g}s\n{s.describe_workers()}")
        await asyncio.sleep(0.01)


async def test_a_killed_worker_loses_nothing_and_applies_nothing_twice(crash_stack: Stack) -> None:
    s = crash_stack
    run = uuid.uuid4().hex[:6]
    refs = [f"O-{run}-{i:03d}" for i in range(N_ORDERS)]

    # 1. Kill the first worker while the first half of the CREATEs (and the CreateFulfilments they send) are
    #    under way; the second half is published while no worker runs.
    await s.worker("worker-a", **WORKER_ENV).start().wait_healthy()
    await s.publish(create_order(ref) for ref in refs[: N_ORDERS // 2])
    await _kill_when(s, "BOOKED", refs, lambda o: o is not None and o.status == "BOOKED")
    await s.publish(create_order(ref) for ref in refs[N_ORDERS // 2 :])

    # 2. A new worker in the same group takes over: every order gets exactly one fulfilment.
    await s.worker("worker-b", **WORKER_ENV).start().wait_healthy()
    await s.wait_for_statuses("fulfilments after the first crash", lambda: s.fulfilments(refs), {"AWAITING_PICK"})

    # 3. Kill it while the warehouse steps flow; Delivered is published only after the kill, so the crash is
    #    mid-lifecycle for every order.
    await s.publish(fulfilment_event(ref, step) for step in FULFILMENT_STEPS[:-1] for ref in refs)
    killed_at = await _kill_when(s, "past PICKING", refs, lambda o: o is not None and o.version >= 3)
    await s.publish(fulfilment_event(ref, "Delivered") for ref in refs)
    assert not any(o is not None and o.status == "COMPLETE" for o in await s.orders(refs)), killed_at

    # 4. A third worker finishes the job.
    await s.worker("worker-c", **WORKER_ENV).start().wait_healthy()
    orders = await s.wait_for_statuses("orders after the second crash", lambda: s.orders(refs), {"COMPLETE"})
    fulfilments = await s.wait_for_statuses("fulfilments", lambda: s.fulfilments(refs), {"DELIVERED"})

    wrong = {o.entity_ref: o.version for o in orders if o.version != ORDER_FINAL_VERSION}
    assert not wrong, f"orders not at version {ORDER_FINAL_VERSION} (an event applied twice or lost): {wrong}"
    wrong = {f.entity_ref: f.version for f in fulfilments if f.version != FULFILMENT_FINAL_VERSION}
    assert not wrong, f"fulfilments not at version {FULFILMENT_FINAL_VERSION}: {wrong}"

    for ref in refs:
        await check_history(s, ref)
    # Whatever the dead workers committed was relayed: the audit reached its topic, no outbox is left behind.
    await check_audit_topic(s, refs)
    await wait_for_outboxes_drained(s)

    # A CreateFulfilment runs in the batch of the CREATE that sent it; one a crash left in the outbox goes
    # through Kafka, maybe more than once (at least once), but a copy carries the same id, so it is recognised
    # downstream: one CreateFulfilment applied per order, and any on the topic is that one.
    create_ids: dict[str, set[str]] = defaultdict(set)
    for record in await read_topic(s.bootstrap, s.events_topic):
        event = orjson.loads(record.value) if record.value else {}
        if event.get("name") == "CreateFulfilment":
            create_ids[event["rootEntityRef"]].add(event["id"])
    assert set(create_ids) <= set(refs)
    for ref in refs:
        [applied] = [r.event_id for r in received_events(await s.fulfilment_audit(ref))
                     if r.event_name == "CreateFulfilment"]
        assert create_ids.get(ref, {applied}) == {applied}, ref
    s.check_workers_alive()
