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
from orchestrator.model import EntityKey, Outcome, RootKey, WorkflowDefinition, read_audit_message
from orchestrator.ports import CommitRequest, CommitResult, Record
from orchestrator.rules import core_registry

TOPICS = ("t.events", "t.audit", "t.dlq", "t.webhooks")
NOW = datetime(2026, 11, 21, tzinfo=UTC)
ORDER = EntityKey("1", "ORDER", "O-1")
ORDER_ROOT = RootKey("1", "ORDER", "O-1")


class OneWorkflow:
    def __init__(self, workflow: CompiledWorkflow) -> None:
        self.workflow = workflow

    def lookup(self, retailer_id: str, entity_type: str, entity_subtype: str,
               version: str | None = None) -> CompiledWorkflow | None:
        d = self.workflow.definition
        return self.workflow if (retailer_id, entity_type, entity_subtype) == (
            d.retailer_id, d.entity_type, d.entity_subtype) else None

    def summary(self) -> str:
        return "1/ORDER/HD v1.0"

    def __len__(self) -> int:
        return 1


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
        "statuses": [{"name": s} for s in ("CREATED", "BOOKED", "PICKING")],
        "rulesets": [
            {"name": "CREATE", "type": "ORDER", "triggers": [{"status": "CREATED"}], "rules": [
                {"name": "x.SetAttributes", "props": {"fromEvent": True}},
                {"name": "x.SetState", "props": {"status": "BOOKED"}},
                {"name": "x.SendEvent", "props": {"eventName": "CreateFulfilment", "entityType": "FULFILMENT",
                                                  "entityRef": "{entity.entityRef}-F1", "entitySubtype": "HD"}}]},
            {"name": "Pick", "type": "ORDER", "triggers": [{"status": "BOOKED"}], "rules": [
                {"name": "x.SetState", "props": {"status": "PICKING"}}]},
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


@pytest.fixture
def processor(store: MemoryStore, publisher: RecordingPublisher) -> BatchProcessor:
    return BatchProcessor(store, OneWorkflow(order_workflow()), publisher, TOPICS, clock=lambda: NOW)


async def status_of(store: MemoryStore, key: EntityKey = ORDER) -> tuple[str, int] | None:
    [entity] = await store.load([key], [ORDER_ROOT])
    return (entity.status, entity.version) if entity else None


async def test_events_of_one_entity_in_one_batch_apply_in_order(
    processor: BatchProcessor, store: MemoryStore
) -> None:
    report = await processor.process([message(0, order_event("a")), message(1, order_event("b", "Pick"))])
    assert report.outcomes == {"SUCCESS": 2}
    assert await status_of(store) == ("PICKING", 2)


async def test_duplicate_event_id_is_applied_once(processor: BatchProcessor, store: MemoryStore) -> None:
    first = await processor.process([message(0, order_event("a")), message(1, order_event("a"))])
    again = await processor.process([message(2, order_event("a"))])
    assert (first.duplicates, again.duplicates) == (1, 1)
    assert await status_of(store) == ("BOOKED", 1)


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
    assert report.dead_lettered == 1 and report.outcomes == {"SUCCESS": 1}
    [dead] = publisher.on("t.dlq")
    headers = dict(dead.headers)
    assert headers["orch.error.reason"] == reason.encode()
    assert fragment in headers["orch.error.message"].decode()
    assert headers["orch.source.offset"] == b"7" and headers["orch.source.topic"] == b"t.events"
    assert dead.value == message(7, value).value, "the DLQ keeps the original bytes"
    assert await status_of(store) == ("BOOKED", 1)


async def test_unmatched_event_is_audited_as_no_match_and_changes_nothing(
    processor: BatchProcessor, store: MemoryStore, publisher: RecordingPublisher
) -> None:
    await processor.process([message(0, order_event("a", "Pick"))])
    assert await status_of(store) is None
    [record] = await store.audit(ORDER, ORDER_ROOT)
    assert record.status is Outcome.NO_MATCH
    [published] = publisher.on("t.audit")
    assert [r.status for r in read_audit_message(published.value)] == [Outcome.NO_MATCH]


async def test_events_for_other_entities_and_audit_are_published_then_leave_the_outbox(
    processor: BatchProcessor, store: MemoryStore, publisher: RecordingPublisher
) -> None:
    await processor.process([message(0, order_event("a"))])
    [sent] = publisher.on("t.events")
    body = orjson.loads(sent.value)
    assert (body["entityType"], body["entityRef"], body["rootEntityRef"]) == ("FULFILMENT", "O-1-F1", "O-1")
    assert sent.key == b"1:ORDER:O-1"
    [audited] = publisher.on("t.audit")  # one message per event: its records, in the order they happened
    assert read_audit_message(audited.value) == await store.audit(ORDER, ORDER_ROOT)
    assert await store.outbox(ORDER_ROOT) == []


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
    assert [orjson.loads(r.value)["name"] for r in publisher.on("t.events")] == ["CreateFulfilment"]
    assert await store.outbox(ORDER_ROOT) == []
    assert await status_of(store) == ("BOOKED", 1)


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
    processor = BatchProcessor(store, OneWorkflow(workflow), publisher, TOPICS, clock=lambda: NOW)
    batch = [message(0, order_event("a", attributes={"by": "us"})), message(1, order_event("b", "Pick"))]
    report = await processor.process(batch)
    assert report.conflict_rounds == 1
    assert report.outcomes == {"NO_MATCH": 1, "SUCCESS": 1}, "CREATE no longer matches once the rival booked it"
    [entity] = await store.load([ORDER], [ORDER_ROOT])
    assert entity is not None and (entity.status, entity.version) == ("PICKING", 2)
    assert entity.attributes == {"by": "rival"}, "Pick must build on the rival's state, never on our lost one"
