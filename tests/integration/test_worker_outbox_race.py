"""The outbox relay acknowledges what it published by content, not by count, against a real Redis.

A worker that starts sweeps every outbox in Redis, including those of roots another worker owns. Had it
acknowledged with ``LTRIM key <count> -1``, a message the owner committed meanwhile (after publishing and
trimming the ones the sweeper saw) would be dropped — and lost for good if the owner then died before its
relay: the redelivered event is a duplicate and its root's outbox empty. This pins that race down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from orchestrator.adapters.redis_store import RedisStore
from orchestrator.app.relay import Relay
from orchestrator.model import EntityKey, RootKey
from orchestrator.ports import CommitRequest, OutMessage, Record, Topic

pytestmark = pytest.mark.integration

ROOT = RootKey("1", "ORDER", "O-1")
ORDER = EntityKey("1", "ORDER", "O-1")
TOPICS = {Topic.EVENTS: "t.events", Topic.AUDIT: "t.audit"}
STATE = (b'{"retailerId":"1","entityType":"ORDER","entityRef":"O-1","entitySubtype":"HD",'
         b'"rootEntityType":"ORDER","rootEntityRef":"O-1"}')


class Publisher:
    """Records what it publishes; with ``hold``, a publish waits (having read its outbox) until released."""

    def __init__(self, hold: bool = False) -> None:
        self.values: list[bytes] = []
        self.hold = hold
        self.waiting, self.released = asyncio.Event(), asyncio.Event()

    async def publish(self, records: Sequence[Record]) -> None:
        if self.hold:
            self.waiting.set()
            await self.released.wait()
        self.values.extend(r.value for r in records)


def commit_request(event_id: str, version: int, message: bytes) -> CommitRequest:
    return CommitRequest(event_id=event_id, root=ROOT, entity_key=ORDER, expected_version=version, entity=STATE,
                         audit=b"", outbox=[OutMessage(Topic.EVENTS, b"1:ORDER:O-1", message)])


async def test_a_starting_workers_sweep_does_not_drop_a_message_another_worker_committed(
    redis_store_factory: Callable[[], RedisStore],
) -> None:
    store = redis_store_factory()
    owner_out, sweeper_out, takeover_out = Publisher(), Publisher(hold=True), Publisher()
    owner, sweeper = Relay(store, owner_out, TOPICS), Relay(store, sweeper_out, TOPICS)

    first = commit_request("E1", 0, b"message-1")
    [applied] = await store.commit([first])  # the owner commits E1: its root's outbox holds message-1
    sweep = asyncio.create_task(sweeper.sweep())  # another worker starts: its sweep reads [message-1] ...
    await sweeper_out.waiting.wait()
    owner.track(first, applied)
    await owner.flush()  # ... while the owner publishes message-1 and trims it
    await store.commit([commit_request("E2", 1, b"message-2")])  # the owner commits E2, and is SIGKILLed
    sweeper_out.released.set()
    await sweep  # the sweep publishes its stale copy of message-1 and trims one message: message-2

    takeover = Relay(store, takeover_out, TOPICS)  # E2 is redelivered to the next owner: a duplicate, so
    takeover.check_root(ROOT)  # it relays whatever the root's outbox still holds
    await takeover.flush()
    assert b"message-2" in takeover_out.values, (
        "message-2 was committed with E2 but never published: "
        f"outbox {[m.value for m in await store.outbox(ROOT)]}, owner published {owner_out.values}, "
        f"sweep published {sweeper_out.values}"
    )
