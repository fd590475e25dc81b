"""One `orchestrator worker` against a real broker and Redis: orders go from CREATE to COMPLETE, each event
is applied once, the audit is kept in Redis and on the audit topic, and bad input goes to the DLQ without
stopping the worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
from helpers import (
    FULFILMENT_FINAL_VERSION,
    ORDER_FINAL_VERSION,
    Stack,
    check_audit_topic,
    check_history,
    create_order,
    event_records,
    header,
    interleaved_steps,
    order_event,
    order_key,
    stack,
    wait_for_outboxes_drained,
)

from orchestrator.model import Category, Outcome

pytestmark = pytest.mark.integration

N_ORDERS = 50


@pytest.fixture(scope="module")
async def running(kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory,
                  ) -> AsyncIterator[Stack]:
    """One worker shared by this module's tests; each test uses orders of its own."""
    async with stack(kafka_bootstrap, redis_url, tmp_path_factory.mktemp("worker-lifecycle")) as s:
        await s.worker("worker-1").start().wait_healthy()
        yield s


def new_refs(n: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"O-{run}-{i:03d}" for i in range(n)]


async def test_orders_go_from_create_to_complete_applying_each_event_once(running: Stack) -> None:
    s = running
    refs = new_refs(N_ORDERS)
    creates = {ref: create_order(ref) for ref in refs}

    # CREATE books each order and sends CreateFulfilment to its fulfilment <ref>-F1 (through the outbox).
    await s.publish(creates.values())
    await s.wait_for_statuses("orders after CREATE", lambda: s.orders(refs), {"BOOKED"})
    # A warehouse reports on a fulfilment that exists: wait for them, then send every order's steps.
    await s.wait_for_statuses("fulfilments after CreateFulfilment", lambda: s.fulfilments(refs), {"AWAITING_PICK"})
    await s.publish(interleaved_steps(refs))

    orders = await s.wait_for_statuses("orders", lambda: s.orders(refs), {"COMPLETE"})
    fulfilments = await s.wait_for_statuses("fulfilments", lambda: s.fulfilments(refs), {"DELIVERED"})
    assert {o.version for o in orders} == {ORDER_FINAL_VERSION}
    assert {f.version for f in fulfilments} == {FULFILMENT_FINAL_VERSION}
    assert all(o.attributes["customer"] == f"C-{o.entity_ref}" for o in orders), "CREATE's attributes are kept"

    for ref in refs:
        await check_history(s, ref)

    # Everything audited in Redis also went out on the audit topic, keyed by the order; no outbox is left.
    await check_audit_topic(s, refs)
    await wait_for_outboxes_drained(s)


async def test_a_resent_create_and_an_unmatched_event_change_nothing(running: Stack) -> None:
    s = running
    [first] = new_refs(1)
    create = create_order(first)
    await s.publish([create])
    await s.wait_for_statuses("the order", lambda: s.orders([first]), {"BOOKED"})
    await s.wait_for_statuses("its fulfilment", lambda: s.fulfilments([first]), {"AWAITING_PICK"})
    before = (await s.orders([first]))[0]
    before_fulfilment = (await s.fulfilments([first]))[0]
    assert before is not None and before_fulfilment is not None

    # A CREATE resent with an id already applied changes nothing; an unmatched event is audited as NO_MATCH.
    # Both share the order's partition, so once the unmatched one is recorded the resend was processed too.
    unmatched = order_event(first, "NoSuchEvent")
    await s.publish([create, unmatched])
    trail = await s.wait_for_event_record(first, unmatched["id"])
    [no_match] = [r for r in trail if r.category is Category.EVENT and r.event_id == unmatched["id"]]
    assert no_match.status is Outcome.NO_MATCH and no_match.event_name == "NoSuchEvent"
    # Not even audited again: a resend that got past the dedup would add a (NO_MATCH) record under its id.
    assert [r.event_id for r in event_records(trail)].count(create["id"]) == 1, "the resend was not applied"
    after = (await s.orders([first]))[0]
    after_fulfilment = (await s.fulfilments([first]))[0]
    assert after is not None and after_fulfilment is not None
    assert (after.status, after.version, after.last_event_id) == ("BOOKED", 1, create["id"])
    assert after == before
    assert after_fulfilment.version == before_fulfilment.version, "no second CreateFulfilment"


async def test_bad_input_goes_to_the_dlq_and_the_worker_carries_on(running: Stack) -> None:
    s = running
    [late] = new_refs(1)
    not_json = b"{this is not json"
    no_ref = orjson.dumps({k: v for k, v in create_order(late).items() if k != "entityRef"})
    await s.publish_raw(not_json, order_key(late))
    await s.publish_raw(no_ref, order_key(late))
    await s.publish([create_order(late)])
    await s.wait_for_statuses("the order sent after bad input", lambda: s.orders([late]), {"BOOKED"})
    await s.wait_for_statuses("its fulfilment", lambda: s.fulfilments([late]), {"AWAITING_PICK"})

    dead = await s.wait_for_records(s.dlq_topic, 2)
    assert {(header(r, "orch.error.reason"), r.value) for r in dead} == {
        (b"NOT_JSON", not_json),
        (b"INVALID_EVENT", no_ref),
    }
    assert all(r.key == order_key(late) for r in dead)
    invalid = next(r for r in dead if header(r, "orch.error.reason") == b"INVALID_EVENT")
    assert b"entityRef" in (header(invalid, "orch.error.message") or b""), "the DLQ says which field is wrong"
    s.check_workers_alive()

