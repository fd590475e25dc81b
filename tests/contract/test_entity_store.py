"""One behaviour suite for the EntityStore port, run against every adapter (each subclasses the suite)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from redis.crc import key_slot

from orchestrator.adapters.memory_store import MemoryStore
from orchestrator.adapters.redis_store import COMMIT_SHA, RedisStore, ledger_id
from orchestrator.model import AuditEntry, AuditRecord, Category, Entity, EntityKey, RootKey, audit_message
from orchestrator.ports import CommitRequest, CommitStatus, EntityStore, OutboxEntry, OutMessage, Topic

StoreFactory = Callable[..., EntityStore]
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ROOT = RootKey("1", "ORDER", "O-1")
ORDER = EntityKey("1", "ORDER", "O-1")
FULFILMENT = EntityKey("1", "FULFILMENT", "F-1")
OTHER_ROOT = RootKey("1", "ORDER", "O-2")
OTHER_ORDER = EntityKey("1", "ORDER", "O-2")
APPLIED, DUPLICATE, CONFLICT = CommitStatus.APPLIED, CommitStatus.DUPLICATE, CommitStatus.CONFLICT


def entity_json(key: EntityKey, root: RootKey, version: int, status: str, event_id: str) -> bytes:
    return Entity(
        retailer_id=key.retailer_id, entity_type=key.entity_type, entity_ref=key.entity_ref, entity_subtype="HD",
        root_entity_type=root.entity_type, root_entity_ref=root.entity_ref, status=status, version=version,
        last_event_id=event_id, attributes={"note": f"by {event_id}"},
    ).to_state_json()


def record(event_id: str, key: EntityKey = ORDER, message: str = "") -> AuditRecord:
    return AuditRecord(
        at=NOW, event_id=event_id, event_name="CREATE", retailer_id=key.retailer_id, entity_type=key.entity_type,
        entity_ref=key.entity_ref, root_entity_type=ROOT.entity_type, root_entity_ref=ROOT.entity_ref,
        category=Category.EVENT, message=message or event_id,
    )


def audit_json(event_id: str, key: EntityKey = ORDER, message: str = "") -> bytes:
    return record(event_id, key, message).to_json()


def request(event_id: str, expected: int, status: str | None = "BOOKED", *, key: EntityKey = ORDER,
            root: RootKey = ROOT, audit: Sequence[AuditRecord] | None = None,
            outbox: Sequence[OutMessage] = ()) -> CommitRequest:
    entity = None if status is None else entity_json(key, root, expected + 1, status, event_id)
    records = [AuditEntry.of(r) for r in ([record(event_id, key)] if audit is None else audit)]
    return CommitRequest(event_id, root, key, expected, entity, audit_message(records) if records else b"", outbox)


def out(n: int, topic: Topic = Topic.EVENTS) -> OutMessage:
    return OutMessage(topic, b"1:ORDER:O-1|odd|key", b'{"n":%d,"pipe":"|"}' % n)


class EntityStoreContract:
    """Subclasses provide ``make_store(**options)``; options: audit_maxlen."""

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        raise NotImplementedError

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> EntityStore:
        return make_store()

    async def test_unknown_entity_loads_as_none(self, store: EntityStore) -> None:
        assert await store.load([ORDER, FULFILMENT], [ROOT, ROOT]) == [None, None]
        assert await store.load([], []) == []

    async def test_child_links_are_written_with_the_step_and_read_per_parent(self, store: EntityStore) -> None:
        created = CommitRequest("e1", ROOT, ORDER, 0, entity_json(ORDER, ROOT, 1, "BOOKED", "e1"),
                                audit_message([AuditEntry.of(record("e1"))]), (),
                                child_links=[(ORDER, "FULFILMENT:F-1", "CREATED"),
                                             (ORDER, "FULFILMENT:F-2", "CREATED")])
        moved = CommitRequest("e2", ROOT, FULFILMENT, 0, entity_json(FULFILMENT, ROOT, 1, "PICKED", "e2"),
                              audit_message([AuditEntry.of(record("e2", FULFILMENT))]), (),
                              child_links=[(ORDER, "FULFILMENT:F-1", "PICKED")])
        refused = CommitRequest("e1", ROOT, FULFILMENT, 1, None, b"", (),
                                child_links=[(ORDER, "FULFILMENT:F-2", "LOST")])
        assert [r.status for r in await store.commit([created, moved, refused])] == [APPLIED, APPLIED, DUPLICATE]
        assert await store.children([ORDER, FULFILMENT], [ROOT, ROOT]) == [
            {"FULFILMENT:F-1": "PICKED", "FULFILMENT:F-2": "CREATED"}, {}]

    async def test_applied_commit_is_loaded_with_its_version(self, store: EntityStore) -> None:
        [result] = await store.commit([request("e1", 0, "BOOKED")])
        assert result.status is APPLIED
        [loaded, other] = await store.load([ORDER, OTHER_ORDER], [ROOT, OTHER_ROOT])
        assert other is None
        assert loaded is not None
        assert (loaded.status, loaded.version, loaded.last_event_id) == ("BOOKED", 1, "e1")
        assert loaded.attributes == {"note": "by e1"}
        assert (await store.commit([request("e2", 1, "PICKING")]))[0].status is APPLIED
        [again] = await store.load([ORDER], [ROOT])
        assert again is not None and (again.status, again.version) == ("PICKING", 2)

    async def test_child_entity_lives_under_its_root(self, store: EntityStore) -> None:
        await store.commit([request("e1", 0, "CREATED", key=FULFILMENT)])
        [under_root, under_itself] = await store.load([FULFILMENT, FULFILMENT], [ROOT, RootKey(*FULFILMENT)])
        assert under_root is not None and under_root.entity_ref == "F-1"
        assert under_itself is None

    async def test_duplicate_event_id_writes_nothing(self, store: EntityStore) -> None:
        await store.commit([request("e1", 0, "BOOKED", outbox=[out(1)])])
        [result] = await store.commit([request("e1", 1, "PICKING", audit=[record("e1", message="again")],
                                               outbox=[out(2)])])
        assert result.status is DUPLICATE
        assert result.outbox_pending == 1
        [loaded] = await store.load([ORDER], [ROOT])
        assert loaded is not None and (loaded.status, loaded.version) == ("BOOKED", 1)
        assert [r.message for r in await store.audit(ORDER, ROOT)] == ["e1"]
        assert await store.outbox(ROOT) == [OutboxEntry("e1", (out(1),))]

    async def test_duplicate_within_one_call(self, store: EntityStore) -> None:
        results = await store.commit([request("e1", 0, "BOOKED"), request("e1", 1, "PICKING")])
        assert [r.status for r in results] == [APPLIED, DUPLICATE]

    async def test_stale_version_conflicts_and_writes_nothing(self, store: EntityStore) -> None:
        await store.commit([request("e1", 0, "BOOKED")])
        [result] = await store.commit([request("e2", 0, "CANCELLED", outbox=[out(1)])])
        assert result.status is CONFLICT
        [loaded] = await store.load([ORDER], [ROOT])
        assert loaded is not None and (loaded.status, loaded.version) == ("BOOKED", 1)
        assert [r.event_id for r in await store.audit(ORDER, ROOT)] == ["e1"]
        assert await store.outbox(ROOT) == []
        assert await store.seen([(ROOT, "e2")]) == [False], "a conflicting event must stay unapplied"
        [retried] = await store.commit([request("e2", 1, "CANCELLED")])
        assert retried.status is APPLIED

    async def test_version_ahead_of_store_conflicts(self, store: EntityStore) -> None:
        [result] = await store.commit([request("e1", 3, "BOOKED")])
        assert result.status is CONFLICT
        assert await store.load([ORDER], [ROOT]) == [None]

    async def test_commits_of_one_entity_chain_in_one_call(self, store: EntityStore) -> None:
        results = await store.commit([
            request("e1", 0, "BOOKED", outbox=[out(1)]),
            request("e2", 1, "PICKING", outbox=[out(2)]),
            request("e3", 1, "LOST"),
            request("x1", 0, "BOOKED", key=OTHER_ORDER, root=OTHER_ROOT),
        ])
        assert [r.status for r in results] == [APPLIED, APPLIED, CONFLICT, APPLIED]
        assert [r.outbox_pending for r in results[:2]] == [1, 2]
        [order, other] = await store.load([ORDER, OTHER_ORDER], [ROOT, OTHER_ROOT])
        assert order is not None and (order.status, order.version, order.last_event_id) == ("PICKING", 2, "e2")
        assert other is not None and other.version == 1

    async def test_a_chain_whose_first_link_conflicts_never_applies_on_a_rivals_state(
        self, store: EntityStore
    ) -> None:
        await store.commit([request("rival", 0, "BOOKED")])
        results = await store.commit([
            request("a", 0, "BOOKED"),
            request("n", 1, None),
            request("b", 1, "PICKING"),
            request("c", 2, "PACKED"),
        ])
        assert [r.status for r in results] == [CONFLICT, CONFLICT, CONFLICT, CONFLICT]
        [loaded] = await store.load([ORDER], [ROOT])
        assert loaded is not None and (loaded.last_event_id, loaded.version) == ("rival", 1)
        assert await store.seen([(ROOT, "n"), (ROOT, "b")]) == [False, False]
        retried = await store.commit([request("b", 1, "PICKING"), request("c", 2, "PACKED")])
        assert [r.status for r in retried] == [APPLIED, APPLIED]

    async def test_a_chain_through_a_commit_without_entity(self, store: EntityStore) -> None:
        results = await store.commit([request("a", 0, "BOOKED"), request("n", 1, None), request("b", 1, "PICKING")])
        assert [r.status for r in results] == [APPLIED, APPLIED, APPLIED]
        [loaded] = await store.load([ORDER], [ROOT])
        assert loaded is not None and (loaded.last_event_id, loaded.version) == ("b", 2)

    async def test_commit_without_entity_keeps_state_and_records_the_rest(self, store: EntityStore) -> None:
        await store.commit([request("e1", 0, "BOOKED")])
        [result] = await store.commit([request("e2", 1, None, outbox=[out(1)])])
        assert result.status is APPLIED and result.outbox_pending == 1
        [loaded] = await store.load([ORDER], [ROOT])
        assert loaded is not None and (loaded.status, loaded.version) == ("BOOKED", 1)
        assert [r.event_id for r in await store.audit(ORDER, ROOT)] == ["e1", "e2"]
        assert await store.seen([(ROOT, "e2")]) == [True]
        [nothing] = await store.commit([request("n1", 0, None, key=OTHER_ORDER, root=OTHER_ROOT)])
        assert nothing.status is APPLIED
        assert await store.load([OTHER_ORDER], [OTHER_ROOT]) == [None]

    async def test_audit_is_oldest_first_per_entity_and_limited(self, store: EntityStore) -> None:
        await store.commit([
            request("e1", 0, audit=[record("e1", message="a"), record("e1", message="b")]),
            request("f1", 0, key=FULFILMENT, audit=[record("f1", FULFILMENT)]),
            request("e2", 1, audit=[record("e2", message="c")]),
        ])
        trail = await store.audit(ORDER, ROOT)
        assert [r.message for r in trail] == ["a", "b", "c"]
        assert all(isinstance(r, AuditRecord) and r.at == NOW for r in trail)
        assert [r.message for r in await store.audit(ORDER, ROOT, limit=2)] == ["a", "b"]
        assert [r.entity_ref for r in await store.audit(FULFILMENT, ROOT)] == ["F-1"]
        assert await store.audit(OTHER_ORDER, OTHER_ROOT) == []

    async def test_audit_keeps_about_maxlen_events_the_newest(self, make_store: StoreFactory) -> None:
        store = make_store(audit_maxlen=5)
        await store.commit([request(f"e{i:03}", i, audit=[record(f"e{i:03}", message=f"m{i:03}-{n}")
                                                           for n in range(3)]) for i in range(250)])
        kept = [r.message for r in await store.audit(ORDER, ROOT, limit=10_000)]
        assert 15 <= len(kept) < 750 and len(kept) % 3 == 0, "an event's records are kept or dropped together"
        first = 250 - len(kept) // 3
        assert kept == [f"m{i:03}-{n}" for i in range(first, 250) for n in range(3)]

    async def test_append_audit_adds_after_the_committed_records_and_is_trimmed(
        self, make_store: StoreFactory
    ) -> None:
        store = make_store(audit_maxlen=5)
        await store.commit([request("e1", 0, audit=[record("e1", message="committed")])])
        await store.append_audit(ORDER, ROOT, [audit_json("e1", message="webhook 1"),
                                               audit_json("e1", message="webhook 2")])
        await store.append_audit(ORDER, ROOT, [])
        assert [r.message for r in await store.audit(ORDER, ROOT)] == ["committed", "webhook 1", "webhook 2"]
        await store.append_audit(FULFILMENT, ROOT, [audit_json("f1", FULFILMENT, message="never committed")])
        assert [r.message for r in await store.audit(FULFILMENT, ROOT)] == ["never committed"]
        assert await store.load([FULFILMENT], [ROOT]) == [None], "appending audit creates no entity"
        await store.append_audit(ORDER, ROOT, [audit_json("e1", message=f"m{i:03}") for i in range(250)])
        kept = [r.message for r in await store.audit(ORDER, ROOT, limit=1000)]
        assert 5 <= len(kept) < 253
        assert kept == [f"m{i:03}" for i in range(250 - len(kept), 250)]

    async def test_outbox_holds_committed_messages_until_acknowledged(self, store: EntityStore) -> None:
        first = [out(1), out(2, Topic.AUDIT)]
        results = await store.commit([
            request("e1", 0, outbox=first),
            request("e2", 1, outbox=[out(3)]),
            request("x1", 0, key=OTHER_ORDER, root=OTHER_ROOT, outbox=[out(9)]),
            request("y1", 0, key=EntityKey("1", "ORDER", "O-3"), root=RootKey("1", "ORDER", "O-3")),
        ])
        assert [r.outbox_pending for r in results] == [1, 2, 1, 0], "one entry per committed event"
        assert await store.outbox(ROOT) == [OutboxEntry("e1", tuple(first)), OutboxEntry("e2", (out(3),))]
        assert sorted(await store.roots_with_outbox()) == sorted([ROOT, OTHER_ROOT])
        await store.ack_outbox([(ROOT, ["e1"]), (OTHER_ROOT, ["x1"])])
        assert await store.outbox(ROOT) == [OutboxEntry("e2", (out(3),))]
        assert await store.roots_with_outbox() == [ROOT]
        [dup] = await store.commit([request("e1", 0)])
        assert (dup.status, dup.outbox_pending) == (DUPLICATE, 1)
        await store.ack_outbox([(ROOT, ["e9"])])
        assert await store.outbox(ROOT) == [OutboxEntry("e2", (out(3),))], "only the named events' entries go"
        await store.ack_outbox([(ROOT, ["e2"]), (OTHER_ROOT, [])])
        assert await store.outbox(ROOT) == []
        assert await store.roots_with_outbox() == []

    async def test_a_trim_drops_the_published_entries_at_the_head_in_any_order_and_stops_at_another(
        self, store: EntityStore
    ) -> None:
        await store.commit([request(f"e{i}", i - 1, outbox=[out(i)]) for i in range(1, 5)])
        await store.ack_outbox([(ROOT, ["e2", "e1", "e9"])])  # e9: another relay's, long gone
        assert [e.event_id for e in await store.outbox(ROOT)] == ["e3", "e4"]
        await store.ack_outbox([(ROOT, ["e4"])])  # e3 still waits at the head: nothing behind it goes first
        assert [e.event_id for e in await store.outbox(ROOT)] == ["e3", "e4"]
        await store.ack_outbox([(ROOT, ["e3", "e4"])])
        assert await store.outbox(ROOT) == [] and await store.roots_with_outbox() == []

    async def test_events_in_flight_to_a_root_are_counted_by_its_commits_until_each_lands(
        self, store: EntityStore
    ) -> None:
        await store.mark_in_flight([(ROOT, ["s1", "s2"]), (OTHER_ROOT, ["x9"]), (RootKey("1", "ORDER", "O-3"), [])])
        first, other = await store.commit([request("e1", 0), request("x1", 0, key=OTHER_ORDER, root=OTHER_ROOT)])
        assert (first.in_flight, other.in_flight) == (2, 1)
        landed, duplicate, conflict = await store.commit([
            request("s1", 1, key=ORDER), request("e1", 0), request("s2", 0)])
        assert (landed.status, landed.in_flight) == (APPLIED, 1), "s1 applied: no longer in flight"
        assert (duplicate.status, duplicate.in_flight) == (DUPLICATE, 1)
        assert (conflict.status, conflict.in_flight) == (CONFLICT, 0), "a conflict does not say (nor land)"
        [dup] = await store.commit([request("s1", 5)])
        assert (dup.status, dup.in_flight) == (DUPLICATE, 1), "s2 is still on its way"
        await store.mark_in_flight([(ROOT, ["s1"])])  # a resent copy of an applied event, after a crash
        [again] = await store.commit([request("s1", 5)])
        assert (again.status, again.in_flight) == (DUPLICATE, 1), "the copy lands as a duplicate"

    async def test_events_dropped_from_flight_no_longer_count(self, store: EntityStore) -> None:
        """An event sent through Kafka that went to the DLQ will never commit: it must not hold its root back."""
        await store.mark_in_flight([(ROOT, ["s1", "s2"]), (OTHER_ROOT, ["x9"])])
        unknown_root = RootKey("1", "ORDER", "O-3")
        await store.drop_in_flight([(ROOT, ["s1", "never-sent"]), (OTHER_ROOT, []), (unknown_root, ["z"])])
        first, other = await store.commit([request("e1", 0), request("x1", 0, key=OTHER_ORDER, root=OTHER_ROOT)])
        assert (first.in_flight, other.in_flight) == (1, 1), "only s1 left ROOT's flight; OTHER_ROOT's x9 stays"
        await store.drop_in_flight([(ROOT, ["s2"])])
        [second] = await store.commit([request("e2", 1)])
        assert second.in_flight == 0

    async def test_outboxes_of_more_roots_than_the_connection_pool_holds_are_read_in_one_call(
        self, store: EntityStore
    ) -> None:
        """A batch redelivered after a crash is all duplicates, each root's outbox to read back: 500 roots."""
        roots = [RootKey("1", "ORDER", f"O-{i}") for i in range(500)]
        await store.commit([request(f"e{i}", 0, key=EntityKey(*root), root=root, outbox=[out(i)])
                            for i, root in enumerate(roots) if i % 2 == 0])
        found = await store.outboxes(roots)
        assert found == [[OutboxEntry(f"e{i}", (out(i),))] if i % 2 == 0 else [] for i in range(500)]
        assert await store.outboxes([]) == []

    async def test_outbox_keeps_many_messages_in_order(self, store: EntityStore) -> None:
        messages = [out(i) for i in range(2500)]
        [result] = await store.commit([request("e1", 0, outbox=messages)])
        assert result.outbox_pending == 1
        assert await store.outbox(ROOT) == [OutboxEntry("e1", tuple(messages))]

    async def test_seen_answers_per_root_in_order(self, store: EntityStore) -> None:
        assert await store.seen([]) == []
        await store.commit([request("e1", 0), request("x1", 0, key=OTHER_ORDER, root=OTHER_ROOT)])
        asked = [(ROOT, "e1"), (OTHER_ROOT, "e1"), (ROOT, "e2"), (OTHER_ROOT, "x1"), (ROOT, "x1"), (ROOT, "e1")]
        assert await store.seen(asked) == [True, False, False, True, False, True]


    async def test_a_commit_sent_in_parts_is_one_commit_in_the_order_sent(self, store: EntityStore) -> None:
        async with store.commit_stream() as stream:
            await stream.send([request("e1", 0, "BOOKED")])
            await stream.send([])
            await stream.send([request("e2", 1, "PICKING"), request("e1", 0, "BOOKED")])
            results = await stream.results()
        assert [r.status for r in results] == [APPLIED, APPLIED, DUPLICATE], "e2 was decided on e1's write"
        [entity] = await store.load([ORDER], [ROOT])
        assert entity is not None and (entity.status, entity.version) == ("PICKING", 2)

    async def test_states_read_behind_a_commit_are_those_its_requests_left(self, store: EntityStore) -> None:
        await store.commit([request("f1", 0, "AWAITING_PICK", key=FULFILMENT)])
        async with store.commit_stream() as stream:
            await stream.send([request("e1", 0, "BOOKED"), request("e2", 1, "PICKING")])
            results, states = await stream.results_then_load([ORDER, FULFILMENT, OTHER_ORDER],
                                                             [ROOT, ROOT, OTHER_ROOT])
        assert [r.status for r in results] == [APPLIED, APPLIED]
        assert states is not None
        order, fulfilment, other = states
        assert order is not None and (order.status, order.version) == ("PICKING", 2), "read after both steps"
        assert fulfilment is not None and fulfilment.status == "AWAITING_PICK"
        assert other is None

    async def test_a_stream_reads_states_even_with_nothing_to_commit(self, store: EntityStore) -> None:
        await store.commit([request("e1", 0)])
        async with store.commit_stream() as stream:
            results, states = await stream.results_then_load([ORDER], [ROOT])
        assert results == []
        assert states is not None and states[0] is not None and states[0].status == "BOOKED"


class TestMemoryStore(EntityStoreContract):
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        return MemoryStore


class TestRedisStore(EntityStoreContract):
    @pytest.fixture
    def make_store(self, redis_store_factory: Callable[..., RedisStore]) -> StoreFactory:
        return redis_store_factory

    async def test_every_key_of_a_root_shares_one_cluster_slot(self, redis_store: RedisStore) -> None:
        await redis_store.commit([request("e1", 0, outbox=[out(1)]), request("f1", 0, key=FULFILMENT)])
        # a set: SCAN may return a key twice while Redis rehashes its keyspace (the other tests' keys grow it)
        keys = {k async for k in redis_store.redis.scan_iter(match=f"{redis_store.keys.prefix}:*")}
        prefix = f"{redis_store.keys.prefix}:{{1:ORDER:O-1}}"
        assert sorted(k.decode() for k in keys) == sorted(
            f"{prefix}:{suffix}" for suffix in
            ("e:ORDER:O-1", "e:FULFILMENT:F-1", "ids", "outbox", "audit:ORDER:O-1", "audit:FULFILMENT:F-1")
        )
        assert len({key_slot(k) for k in keys}) == 1

    async def test_state_is_stored_behind_its_version_without_what_the_key_says(self, redis_store: RedisStore) -> None:
        await redis_store.commit([request("e1", 0), request("e2", 1)])
        raw = await redis_store.redis.get(redis_store.keys.state(ROOT, ORDER))
        assert isinstance(raw, bytes) and raw.startswith(b'2|{"entitySubtype":"HD"')
        assert b"O-1" not in raw and b'"version"' not in raw
        [entity] = await redis_store.load([ORDER], [ROOT])
        assert entity is not None and (entity.key, entity.root_key, entity.version) == (ORDER, ROOT, 2)

    async def test_state_written_whole_by_an_earlier_version_still_loads(self, redis_store: RedisStore) -> None:
        whole = Entity(retailer_id="1", entity_type="ORDER", entity_ref="O-1", entity_subtype="HD",
                       root_entity_type="ORDER", root_entity_ref="O-1", status="BOOKED", version=1).to_json()
        await redis_store.redis.set(redis_store.keys.state(ROOT, ORDER), b"3|" + whole)
        [entity] = await redis_store.load([ORDER], [ROOT])
        assert entity is not None and (entity.status, entity.version, entity.key) == ("BOOKED", 3, ORDER)

    async def test_applied_ids_expire_after_the_dedup_window(
        self, redis_store_factory: Callable[..., RedisStore]
    ) -> None:
        store = redis_store_factory(dedup_ttl_s=60)
        await store.commit([request("e1", 0)])
        ttl = await store.redis.ttl(store.keys.applied(ROOT))
        assert 0 < ttl <= 60

    async def test_the_ledger_names_events_by_a_16_byte_digest(self, redis_store: RedisStore) -> None:
        event_id = "3f2b8a4c-1d6e-4f7a-9b0c-5e8d2a7f1c43"
        await redis_store.commit([request(event_id, 0), request("e2", 1)])
        names = await redis_store.redis.hkeys(redis_store.keys.applied(ROOT))
        assert sorted(names) == sorted([ledger_id(event_id), ledger_id("e2")])
        assert all(len(name) == 16 for name in names)
        assert await redis_store.seen([(ROOT, event_id), (ROOT, "e3")]) == [True, False]

    async def test_replies_a_stream_left_unread_are_never_taken_for_a_later_commits(
        self, redis_store: RedisStore
    ) -> None:
        await redis_store.commit([request("o1", 0, key=OTHER_ORDER, root=OTHER_ROOT)])  # the script is loaded
        async with redis_store.commit_stream() as stream:  # e.g. the worker failed before asking for them
            await stream.send([request("e1", 0)])
        [again] = await redis_store.commit([request("e1", 0)])
        assert again.status is DUPLICATE, "Redis applied e1 when it was sent; APPLIED would be the stale reply"
        [next_one] = await redis_store.commit([request("e2", 1)])
        assert next_one.status is APPLIED

    async def test_commit_survives_a_flushed_script_cache(self, redis_store: RedisStore) -> None:
        await redis_store.redis.script_flush()
        results = await redis_store.commit([request("e1", 0), request("e2", 1)])
        assert [r.status for r in results] == [APPLIED, APPLIED]
        assert await redis_store.redis.script_exists(COMMIT_SHA) == [True]

    async def test_no_states_are_given_when_steps_ran_after_the_read(self, redis_store: RedisStore) -> None:
        await redis_store.redis.script_flush()  # the steps fail NOSCRIPT, the read behind them succeeds
        async with redis_store.commit_stream() as stream:
            await stream.send([request("e1", 0)])
            results, states = await stream.results_then_load([ORDER], [ROOT])
        assert [r.status for r in results] == [APPLIED]
        assert states is None, "the read saw the state before e1 ran again: the caller must load it"

    async def test_locate_finds_the_root_of_a_child(self, redis_store: RedisStore) -> None:
        await redis_store.commit([request("f1", 0, key=FULFILMENT)])
        assert await redis_store.locate(FULFILMENT) == ROOT
        assert await redis_store.locate(EntityKey("1", "FULFILMENT", "F-*")) is None

    async def test_audit_expires_after_the_retention_window(
        self, redis_store_factory: Callable[..., RedisStore]
    ) -> None:
        store = redis_store_factory(audit_retention_s=90)
        await store.commit([request("e1", 0)])
        await store.append_audit(FULFILMENT, ROOT, [audit_json("f1", FULFILMENT)])
        for key in (ORDER, FULFILMENT):
            ttl = await store.redis.ttl(store.keys.audit(ROOT, key))
            assert 0 < ttl <= 90
        kept = redis_store_factory(audit_retention_s=0)
        await kept.commit([request("k1", 0, key=OTHER_ORDER, root=OTHER_ROOT)])
        assert await kept.redis.ttl(kept.keys.audit(OTHER_ROOT, OTHER_ORDER)) == -1
