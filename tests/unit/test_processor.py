"""The batch processor against the in-memory store: dedup, DLQ, no-match, outbox relay, conflicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from orchestrator.adapters.memory_store import MemoryStore
from orchestrator.app.codec import Incoming
from orchestrator.app.processor import BatchProcessor
from orchestrator.engine import CompiledWorkflow, compile_workflow
from orchestrator.model import Entity, EntityKey, Outcome, RootKey, WorkflowDefinition, read_audit_message
from orchestrator.ports import CommitRequest, CommitResult, Record
from orchestrator.rules import core_registry

TOPICS = ("t.events", "t.audit", "t.dlq", "t.webhooks")
NOW = datetime(2026, 11, 21, tzinfo=UTC)
ORDER = EntityKey("1", "ORDER", "O-1")
ORDER_ROOT = RootKey("1", "ORDER", "O-1")
FULFILMENT = EntityKey("1", "FULFILMENT", "O-1-F1")


class Workflows:
    def __init__(self, *workflows: CompiledWorkflow) -> None:
        self.workflows = workflows

    def lookup(self, retailer_id: str, entity_type: str, entity_subtype: str,
               version: str | None = None) -> CompiledWorkflow | None:
        for w in self.workflows:
            d = w.definition
            if (retailer_id, entity_type, entity_subtype) == (d.retailer_id, d.entity_type, d.entity_subtype):
                return w
        return None

    def summary(self) -> str:
        return ", ".join(f"1/{w.definition.entity_type}/HD v1.0" for w in self.workflows)

    def __len__(self) -> int:
        return len(self.workflows)


class RecordingPublisher:
    """Keeps what was published; can be told to fail, as a broker outage would."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.fail_next = False

    async def publish(self, records: Sequence[Record]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("broker unreachable")
        self.records.extend(records)

    def on(self, topic: str) -> list[Record]:
        return [r for r in self.records if r.topic == topic]


def order_workflow() -> CompiledWorkflow:
    return compile_workflow(WorkflowDefinition.model_validate({
        "retailerId": "1", "version": "1.0", "entityType": "ORDER", "entitySubtype": "HD",
        "statuses": [{"name": s} for s in ("CREATED", "BOOKED", "PICKING", "FULFILLING")],
        "rulesets": [
            {"name": "CREATE", "type": "ORDER", "triggers": [{"status": "CREATED"}], "rules": [
                {"name": "x.SetAttributes", "props": {"fromEvent": True}},
                {"name": "x.SetState", "props": {"status": "BOOKED"}},
                {"name": "x.SendEvent", "props": {"eventName": "CreateFulfilment", "entityType": "FULFILMENT",
                                                  "entityRef": "{entity.entityRef}-F1", "entitySubtype": "HD"}}]},
            {"name": "Pick", "type": "ORDER", "triggers": [{"status": "BOOKED"}], "rules": [
                {"name": "x.SetState", "props": {"status": "PICKING"}}]},
            {"name": "FulfilmentCreated", "type": "ORDER", "triggers": [{"status": "BOOKED"}], "rules": [
                {"name": "x.SetState", "props": {"status": "FULFILLING"}}]},
            {"name": "Nudge", "type": "ORDER", "triggers": [{"status": "BOOKED"}], "rules": [
                {"name": "x.SendEvent", "props": {"eventName": "Nudged", "entityType": "FULFILMENT",
                                                  "entityRef": "{entity.entityRef}-F1", "entitySubtype": "HD"}}]},
            {"name": "Link", "type": "ORDER", "triggers": [{"status": "BOOKED"}], "rules": [
                {"name": "x.SendEvent", "props": {"eventName": "Linked", "entityType": "ORDER", "entityRef": "O-9",
                                                  "entitySubtype": "HD"}}]},
        ],
    }), core_registry())


def fulfilment_workflow() -> CompiledWorkflow:
    return compile_workflow(WorkflowDefinition.model_validate({
        "retailerId": "1", "version": "1.0", "entityType": "FULFILMENT", "entitySubtype": "HD",
        "statuses": [{"name": s} for s in ("CREATED", "AWAITING_PICK", "NUDGED")],
        "rulesets": [
            {"name": "CreateFulfilment", "type": "FULFILMENT", "triggers": [{"status": "CREATED"}], "rules": [
                {"name": "x.SetState", "props": {"status": "AWAITING_PICK"}},
                {"name": "x.SendEvent", "props": {"eventName": "FulfilmentCreated", "entityType": "ORDER",
                                                  "entityRef": "{entity.rootEntityRef}"}}]},
            {"name": "Nudged", "type": "FULFILMENT", "triggers": [{"status": "AWAITING_PICK"}], "rules": [
                {"name": "x.SetState", "props": {"status": "NUDGED"}}]},
        ],
    }), core_registry())


def message(offset: int, value: bytes | dict[str, Any]) -> Incoming:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return Incoming("t.events", 0, offset, b"1:ORDER:O-1", raw)


def order_event(event_id: str, name: str = "CREATE", **extra: Any) -> dict[str, Any]:
    return {"id": event_id, "name": name, "retailerId": "1", "entityType": "ORDER", "entitySubtype": "HD",
            "entityRef": "O-1", **extra}


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


def make_processor(store: MemoryStore, publisher: RecordingPublisher, **options: Any) -> BatchProcessor:
    workflows = Workflows(order_workflow(), fulfilment_workflow())
    return BatchProcessor(store, workflows, publisher, TOPICS, clock=lambda: NOW, **options)


@pytest.fixture
def processor(store: MemoryStore, publisher: RecordingPublisher) -> BatchProcessor:
    return make_processor(store, publisher)


async def status_of(store: MemoryStore, key: EntityKey = ORDER) -> tuple[str, int] | None:
    [entity] = await store.load([key], [ORDER_ROOT])
    return (entity.status, entity.version) if entity else None


async def test_events_of_one_entity_in_one_batch_apply_in_order(
    processor: BatchProcessor, store: MemoryStore
) -> None:
    report = await processor.process([message(0, order_event("a")), message(1, order_event("b", "Pick"))])
    assert report.outcomes == {"SUCCESS": 3, "NO_MATCH": 1}
    assert await status_of(store) == ("PICKING", 2), (
        "the fulfilment's FulfilmentCreated runs after the batch's own Pick, as it would behind it on Kafka")


async def test_duplicate_event_id_is_applied_once(
    processor: BatchProcessor, store: MemoryStore, publisher: RecordingPublisher
) -> None:
    first = await processor.process([message(0, order_event("a")), message(1, order_event("a"))])
    again = await processor.process([message(2, order_event("a"))])
    assert (first.duplicates, again.duplicates) == (1, 1)
    assert await status_of(store) == ("BOOKED", 1)
    # sent once; a root with a duplicate in the batch may hold what a crash left, so its events take Kafka
    assert [orjson.loads(r.value)["name"] for r in publisher.on("t.events")] == ["CreateFulfilment"]


@pytest.mark.parametrize(("value", "reason", "fragment"), [
    (b"{not json", "NOT_JSON", "not JSON"),
    (b"[1, 2]", "NOT_AN_OBJECT", "JSON object"),
    ({"id": "x", "name": "CREATE", "entityType": "ORDER", "entityRef": "O-1"}, "INVALID_EVENT", "retailerId"),
    (order_event("x", entitySubtype="NOPE"), "NO_WORKFLOW", "no workflow for retailer '1'"),
])
async def test_bad_input_goes_to_the_dlq_with_reason_and_source_and_the_batch_goes_on(
    processor: BatchProcessor, publisher: RecordingPublisher, store: MemoryStore,
    value: bytes | dict[str, Any], reason: str, fragment: str,
) -> None:
    report = await processor.process([message(7, value), message(8, order_event("good"))])
    assert report.dead_lettered == 1 and report.outcomes == {"SUCCESS": 3}
    [dead] = publisher.on("t.dlq")
    headers = dict(dead.headers)
    assert headers["orch.error.reason"] == reason.encode()
    assert fragment in headers["orch.error.message"].decode()
    assert headers["orch.source.offset"] == b"7" and headers["orch.source.topic"] == b"t.events"
    assert dead.value == message(7, value).value, "the DLQ keeps the original bytes"
    assert await status_of(store) == ("FULFILLING", 2)


async def test_unmatched_event_is_audited_as_no_match_and_changes_nothing(
    processor: BatchProcessor, store: MemoryStore, publisher: RecordingPublisher
) -> None:
    await processor.process([message(0, order_event("a", "Pick"))])
    assert await status_of(store) is None
    [record] = await store.audit(ORDER, ORDER_ROOT)
    assert record.status is Outcome.NO_MATCH
    [published] = publisher.on("t.audit")
    assert [r.status for r in read_audit_message(published.value)] == [Outcome.NO_MATCH]


async def test_events_sent_within_the_root_run_in_the_same_batch_and_are_not_published(
    processor: BatchProcessor, store: MemoryStore, publisher: RecordingPublisher
) -> None:
    report = await processor.process([message(0, order_event("a"))])
    assert report.ran_here == 2 and report.outcomes == {"SUCCESS": 3}
    assert await status_of(store, FULFILMENT) == ("AWAITING_PICK", 1), "CreateFulfilment ran in the batch"
    assert await status_of(store) == ("FULFILLING", 2), "and the FulfilmentCreated it sent back, in a third round"
    assert publisher.on("t.events") == [], "no trip through Kafka for events this worker ran itself"
    audited = [read_audit_message(r.value) for r in publisher.on("t.audit")]
    assert [records[-1].name for records in audited] == ["CREATE", "CreateFulfilment", "FulfilmentCreated"]
    assert await store.outbox(ORDER_ROOT) == []


async def test_events_for_another_root_and_audit_are_published_then_leave_the_outbox(
    processor: BatchProcessor, store: MemoryStore, publisher: RecordingPublisher
) -> None:
    await processor.process([message(0, order_event("a")), message(1, order_event("b", "Link"))])
    [sent] = publisher.on("t.events")
    body = orjson.loads(sent.value)
    assert (body["name"], body["entityRef"], body["rootEntityRef"]) == ("Linked", "O-9", "O-9")
    assert sent.key == b"1:ORDER:O-9", "keyed by its own root: it belongs to that root's partition"
    audited = [read_audit_message(r.value) for r in publisher.on("t.audit")]  # one message per event
    stored = await store.audit(ORDER, ORDER_ROOT)
    assert [r for records in audited for r in records if r.entity_type == "ORDER"] == stored
    assert await store.outbox(ORDER_ROOT) == []


async def test_with_no_same_root_rounds_every_sent_event_goes_through_kafka(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    report = await make_processor(store, publisher, same_root_rounds=0).process([message(0, order_event("a"))])
    assert report.ran_here == 0
    [sent] = publisher.on("t.events")
    body = orjson.loads(sent.value)
    assert (body["name"], body["entityType"], body["rootEntityRef"]) == ("CreateFulfilment", "FULFILMENT", "O-1")
    assert sent.key == b"1:ORDER:O-1"
    assert await status_of(store, FULFILMENT) is None


async def test_generations_beyond_the_bound_go_through_kafka(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    report = await make_processor(store, publisher, same_root_rounds=1).process([message(0, order_event("a"))])
    assert report.ran_here == 1
    assert await status_of(store, FULFILMENT) == ("AWAITING_PICK", 1)
    assert [orjson.loads(r.value)["name"] for r in publisher.on("t.events")] == ["FulfilmentCreated"]
    assert await status_of(store) == ("BOOKED", 1)


async def deliver(processor: BatchProcessor, publisher: RecordingPublisher) -> None:
    """What Kafka carries to the events topic, in order, batch after batch until nothing more is sent."""
    offset = 100
    while sent := publisher.on("t.events"):
        publisher.records.clear()
        await processor.process([message(offset + i, r.value) for i, r in enumerate(sent)])
        offset += len(sent)


async def test_an_event_does_not_overtake_one_sent_to_its_root_through_kafka(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    await make_processor(store, publisher, same_root_rounds=0).process([message(0, order_event("a"))])
    processor = make_processor(store, publisher)  # e.g. a worker restarted with the default settings
    report = await processor.process([message(1, order_event("n", "Nudge"))])
    assert report.ran_here == 0, "CreateFulfilment is still on its way: Nudged must not run before it"
    assert [orjson.loads(r.value)["name"] for r in publisher.on("t.events")] == ["CreateFulfilment", "Nudged"]
    await deliver(processor, publisher)
    assert await status_of(store, FULFILMENT) == ("NUDGED", 2), "created, then nudged: in the order sent"
    assert await status_of(store) == ("FULFILLING", 3), "CREATE, Nudge, then the FulfilmentCreated sent back"
    [probe] = await store.commit([CommitRequest("probe", ORDER_ROOT, ORDER, 3, None, b"")])
    assert probe.in_flight == 0, "all landed: the root's next events run in the batch again"


async def test_an_event_sent_within_the_root_with_no_workflow_goes_to_the_dlq_with_its_sender(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    processor = BatchProcessor(store, Workflows(order_workflow()), publisher, TOPICS, clock=lambda: NOW)
    report = await processor.process([message(5, order_event("a"))])
    assert report.dead_lettered == 1 and publisher.on("t.events") == []
    [dead] = publisher.on("t.dlq")
    headers = dict(dead.headers)
    assert headers["orch.error.reason"] == b"NO_WORKFLOW"
    assert orjson.loads(dead.value)["name"] == "CreateFulfilment", "the DLQ holds the event as Kafka would carry it"
    assert headers["orch.source.offset"] == b"5", "where the event that sent it came from"
    assert await status_of(store) == ("BOOKED", 1)


async def test_an_event_sent_to_its_root_through_kafka_that_goes_to_the_dlq_does_not_hold_the_root_back(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    workflows = Workflows(order_workflow())  # no FULFILMENT workflow: CreateFulfilment is dead on arrival
    sender = BatchProcessor(store, workflows, publisher, TOPICS, clock=lambda: NOW, same_root_rounds=0)
    await sender.process([message(0, order_event("a"))])
    [create_fulfilment] = publisher.on("t.events")
    processor = BatchProcessor(store, workflows, publisher, TOPICS, clock=lambda: NOW)
    report = await processor.process([message(1, create_fulfilment.value)])
    assert report.dead_lettered == 1
    [probe] = await store.commit([CommitRequest("probe", ORDER_ROOT, ORDER, 1, None, b"")])
    assert probe.in_flight == 0, "dead-lettered: it will never land, so it is no longer in flight"
    publisher.records.clear()
    nudge = await processor.process([message(2, order_event("n", "Nudge"))])
    assert nudge.ran_here == 1 and publisher.on("t.events") == [], "the root's sent events run in the batch again"


async def test_crash_between_redis_commit_and_kafka_send_loses_nothing(
    processor: BatchProcessor, store: MemoryStore, publisher: RecordingPublisher
) -> None:
    batch = [message(0, order_event("a"))]
    publisher.fail_next = True
    with pytest.raises(ConnectionError):
        await processor.process(batch)
    assert publisher.records == [] and len(await store.outbox(ORDER_ROOT)) > 0
    report = await processor.process(batch)  # redelivery: the offset was never committed
    assert report.duplicates == 1
    resent = publisher.on("t.events")  # read back from the outbox, sent whole
    assert [orjson.loads(r.value)["name"] for r in resent] == ["CreateFulfilment", "FulfilmentCreated"]
    assert await store.outbox(ORDER_ROOT) == []
    [probe] = await store.commit([CommitRequest("probe-1", ORDER_ROOT, ORDER, 2, None, b"")])
    assert probe.in_flight == 2, "sent to their own root through Kafka: in flight until consumed"
    consumed = await processor.process([message(1 + i, r.value) for i, r in enumerate(resent)])
    assert consumed.duplicates == 2, "they ran before the crash: consumed again, they change nothing"
    [probe] = await store.commit([CommitRequest("probe-2", ORDER_ROOT, ORDER, 2, None, b"")])
    assert probe.in_flight == 0, "a duplicate lands too"
    assert await status_of(store) == ("FULFILLING", 2)
    assert await status_of(store, FULFILMENT) == ("AWAITING_PICK", 1)


class FailingSecondCommit(MemoryStore):
    """Redis goes away after the batch's first round was committed, once."""

    def __init__(self) -> None:
        super().__init__()
        self.commits = 0

    async def commit(self, requests: Sequence[CommitRequest]) -> list[CommitResult]:
        self.commits += 1
        if self.commits == 2:
            raise ConnectionError("redis unreachable")
        return await super().commit(requests)


async def test_crash_before_an_event_sent_within_the_root_ran_loses_nothing(publisher: RecordingPublisher) -> None:
    store = FailingSecondCommit()
    processor = make_processor(store, publisher)
    batch = [message(0, order_event("a"))]
    with pytest.raises(ConnectionError):
        await processor.process(batch)
    assert await status_of(store, FULFILMENT) is None and publisher.records == []
    await processor.process(batch)  # redelivery: CREATE is a duplicate, its outbox is sent
    [resent] = publisher.on("t.events")
    assert orjson.loads(resent.value)["name"] == "CreateFulfilment"
    report = await processor.process([message(1, resent.value)])
    assert report.outcomes == {"SUCCESS": 2} and report.ran_here == 1
    assert await status_of(store, FULFILMENT) == ("AWAITING_PICK", 1)
    assert await status_of(store) == ("FULFILLING", 2)


class RacingStore(MemoryStore):
    """Another worker applies an event between our read and our commit, once."""

    def __init__(self, competitor: CommitRequest) -> None:
        super().__init__()
        self.competitor: CommitRequest | None = competitor

    async def commit(self, requests: Sequence[CommitRequest]) -> list[CommitResult]:
        if self.competitor is not None:
            await super().commit([self.competitor])
            self.competitor = None
        return await super().commit(requests)


async def test_entity_changed_under_us_is_decided_again_on_fresh_state(publisher: RecordingPublisher) -> None:
    from orchestrator.app.codec import commit_request, parse_event
    from orchestrator.engine import decide

    workflow = order_workflow()
    rival = decide(parse_event(orjson.dumps(order_event("rival", attributes={"by": "rival"}))), None, workflow, NOW)
    store = RacingStore(commit_request(rival))
    processor = BatchProcessor(store, Workflows(workflow), publisher, TOPICS, clock=lambda: NOW)
    batch = [message(0, order_event("a", attributes={"by": "us"})), message(1, order_event("b", "Pick"))]
    report = await processor.process(batch)
    assert report.conflict_rounds == 1
    assert report.outcomes == {"NO_MATCH": 1, "SUCCESS": 1}, "CREATE no longer matches once the rival booked it"
    [entity] = await store.load([ORDER], [ORDER_ROOT])
    assert entity is not None and (entity.status, entity.version) == ("PICKING", 2)
    assert entity.attributes == {"by": "rival"}, "Pick must build on the rival's state, never on our lost one"


async def booked_order_with_nothing_in_flight(store: MemoryStore, publisher: RecordingPublisher) -> None:
    """ORDER O-1 BOOKED; the CreateFulfilment it sent went to the DLQ (no FULFILMENT workflow), so nothing of
    the root is in flight or in its outbox."""
    without_fulfilments = Workflows(order_workflow())
    sender = BatchProcessor(store, without_fulfilments, publisher, TOPICS, clock=lambda: NOW, same_root_rounds=0)
    await sender.process([message(0, order_event("a"))])
    [create_fulfilment] = publisher.on("t.events")
    await sender.process([message(1, create_fulfilment.value)])
    assert await status_of(store) == ("BOOKED", 1) and await store.outbox(ORDER_ROOT) == []
    publisher.records.clear()


async def test_a_batch_runs_its_roots_events_itself_while_the_previous_batch_is_still_being_relayed(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    await booked_order_with_nothing_in_flight(store, publisher)
    processor = make_processor(store, publisher)
    linked = await processor.apply([message(2, order_event("l", "Link"))])  # sends Linked to another root
    nudged = await processor.apply([message(3, order_event("n", "Nudge"))])  # while Linked is not relayed yet
    assert nudged.report.ran_here == 1, "the earlier batch's outbox entry sends nothing to this root through Kafka"
    assert publisher.records == [], "nothing is published before a batch is settled"
    await processor.settle(linked)
    await processor.settle(nudged)
    assert [orjson.loads(r.value)["name"] for r in publisher.on("t.events")] == ["Linked"]
    assert await store.outbox(ORDER_ROOT) == []


async def test_a_batch_does_not_run_events_that_would_overtake_one_the_previous_batch_sends_through_kafka(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    processor = make_processor(store, publisher, same_root_rounds=1)
    created = await processor.apply([message(0, order_event("a"))])  # FulfilmentCreated: beyond the bound
    nudged = await processor.apply([message(1, order_event("n", "Nudge"))])
    assert nudged.report.ran_here == 0, "Nudged must queue behind FulfilmentCreated, which is not even sent yet"
    await processor.settle(created)
    await processor.settle(nudged)
    assert [orjson.loads(r.value)["name"] for r in publisher.on("t.events")] == ["FulfilmentCreated", "Nudged"]
    assert await store.outbox(ORDER_ROOT) == []


async def test_after_a_failed_relay_the_next_batch_sends_what_the_outbox_still_holds(
    store: MemoryStore, publisher: RecordingPublisher
) -> None:
    await booked_order_with_nothing_in_flight(store, publisher)
    processor = make_processor(store, publisher)
    linked = await processor.apply([message(2, order_event("l", "Link"))])
    publisher.fail_next = True
    with pytest.raises(ConnectionError):
        await processor.settle(linked)
    nudged = await processor.apply([message(3, order_event("n", "Nudge"))])
    assert nudged.report.ran_here == 0, "Linked may never be trimmed now: the root's outbox is not ours alone"
    await processor.settle(nudged)
    assert [orjson.loads(r.value)["name"] for r in publisher.on("t.events")] == ["Linked", "Nudged"]
    assert await store.outbox(ORDER_ROOT) == []


class CountingStore(MemoryStore):
    """Counts the state reads of their own (not those behind a commit); a rival may change an entity once,
    right after a read behind a commit."""

    def __init__(self, rival: CommitRequest | None = None) -> None:
        super().__init__()
        self.loads = 0
        self.read_ahead: list[EntityKey] = []
        self.rival = rival

    async def load(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        self.loads += bool(keys)
        return await super().load(keys, roots)

    def read_states(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]) -> list[Entity | None]:
        states = super().read_states(keys, roots)
        self.read_ahead.extend(keys)
        if self.rival is not None and keys:
            rival, self.rival = self.rival, None
            self._commit_one(rival, "")
        return states


async def test_a_round_reads_the_states_the_next_round_needs_behind_its_commit(
    publisher: RecordingPublisher
) -> None:
    store = CountingStore()
    report = await make_processor(store, publisher).process([message(0, order_event("a"))])
    assert report.outcomes == {"SUCCESS": 3}, "CREATE, then CreateFulfilment, then FulfilmentCreated"
    assert store.loads == 1, "rounds 2 and 3 found their entities' states read behind the commit before"
    assert store.read_ahead == [FULFILMENT, ORDER]
    assert await status_of(store, FULFILMENT) == ("AWAITING_PICK", 1)
    assert await status_of(store) == ("FULFILLING", 2)


async def test_a_state_read_ahead_and_changed_before_the_next_round_commits_is_decided_again(
    publisher: RecordingPublisher
) -> None:
    from orchestrator.app.codec import commit_request, parse_event
    from orchestrator.engine import decide

    created_elsewhere = parse_event(orjson.dumps({
        "id": "rival", "name": "CreateFulfilment", "retailerId": "1", "entityType": "FULFILMENT",
        "entitySubtype": "HD", "entityRef": "O-1-F1", "rootEntityType": "ORDER", "rootEntityRef": "O-1"}))
    rival = decide(created_elsewhere, None, fulfilment_workflow(), NOW)
    store = CountingStore(commit_request(rival)._replace(outbox=[]))  # it left the outbox empty
    report = await make_processor(store, publisher).process([message(0, order_event("a"))])
    assert report.conflict_rounds == 1, "CreateFulfilment was decided on the read-ahead state, then conflicted"
    assert store.loads == 2, "the conflicting event's entity is read again"
    assert report.outcomes == {"SUCCESS": 1, "NO_MATCH": 1}, "on the fresh state CreateFulfilment no longer matches"
    assert await status_of(store, FULFILMENT) == ("AWAITING_PICK", 1), "the rival's fulfilment, not a second one"
    assert await status_of(store) == ("BOOKED", 1)


async def test_nothing_is_read_ahead_for_events_that_will_go_through_kafka(publisher: RecordingPublisher) -> None:
    store = CountingStore()
    report = await make_processor(store, publisher, same_root_rounds=0).process([message(0, order_event("a"))])
    assert report.ran_here == 0 and len(publisher.on("t.events")) == 1, "CreateFulfilment went through Kafka"
    assert store.read_ahead == []
