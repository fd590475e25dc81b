"""What the events consumer hands the processor, and which offsets it commits after."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from orchestrator.app.codec import Incoming
from orchestrator.app.consumer import EventConsumer, next_offsets, to_batch
from orchestrator.app.offset_guard import Checked, OffsetGuard
from orchestrator.app.settings import Settings

P0, P1, P2 = (TopicPartition("o.events", p) for p in range(3))


class Rec(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


def records(tp: TopicPartition, *offsets: int) -> list[Rec]:
    return [Rec(tp.topic, tp.partition, o, b"k%d" % tp.partition, b"v%d" % o) for o in offsets]


FETCHED = {P0: records(P0, 7, 8, 9), P1: records(P1, 3), P2: records(P2, 40, 41)}


def test_each_partitions_records_reach_the_processor_in_offset_order() -> None:
    batch = to_batch(FETCHED, {P0, P1, P2})
    assert [(m.partition, m.offset) for m in batch] == [(0, 7), (0, 8), (0, 9), (1, 3), (2, 40), (2, 41)]
    assert (batch[0].topic, batch[0].key, batch[0].value) == ("o.events", b"k0", b"v7")


def test_records_of_a_partition_revoked_since_the_fetch_are_left_to_its_next_owner() -> None:
    assert [(m.partition, m.offset) for m in to_batch(FETCHED, {P0, P2})] == [(0, 7), (0, 8), (0, 9), (2, 40),
                                                                              (2, 41)]
    assert next_offsets(FETCHED, {P0, P2}) == {P0: 10, P2: 42}


def test_the_committed_offset_is_the_one_after_each_partitions_last_processed_record() -> None:
    assert next_offsets(FETCHED, {P0, P1, P2}) == {P0: 10, P1: 4, P2: 42}


def test_a_partition_that_fetched_nothing_commits_nothing() -> None:
    assert next_offsets({P0: [], P1: records(P1, 5)}, {P0, P1}) == {P1: 6}


def read(guard: OffsetGuard[TopicPartition], fetched: dict[TopicPartition, list[Rec]]) -> Checked[TopicPartition]:
    """One fetch through the guard, its kept records then processed."""
    checked = guard.check(fetched)
    guard.processed(checked)
    return checked


def offsets_of(checked: Checked[TopicPartition]) -> dict[TopicPartition, list[int]]:
    return {tp: [r.offset for r in rs] for tp, rs in checked.records.items()}


def test_contiguous_fetches_pass_the_offset_guard_whole() -> None:
    guard: OffsetGuard[TopicPartition] = OffsetGuard()
    assert offsets_of(read(guard, {P0: records(P0, 7, 8), P1: records(P1, 3)})) == {P0: [7, 8], P1: [3]}
    checked = read(guard, {P0: records(P0, 9, 10), P1: records(P1, 4)})
    assert (offsets_of(checked), checked.read_again) == ({P0: [9, 10], P1: [4]}, {})


def test_a_fetch_that_jumps_over_offsets_is_read_again_from_the_first_missing_one() -> None:
    guard: OffsetGuard[TopicPartition] = OffsetGuard()
    read(guard, {P0: records(P0, 7, 8)})
    checked = read(guard, {P0: records(P0, 12, 13), P1: records(P1, 3)})
    assert offsets_of(checked) == {P0: [], P1: [3]}, "nothing after the hole is processed before the hole"
    assert checked.read_again == {P0: 9}
    again = read(guard, {P0: records(P0, 9, 10, 11, 12, 13)})  # the broker serves the skipped records this time
    assert (offsets_of(again), again.read_again) == ({P0: [9, 10, 11, 12, 13]}, {})


def test_a_gap_inside_one_fetch_keeps_the_records_before_it() -> None:
    guard: OffsetGuard[TopicPartition] = OffsetGuard()
    read(guard, {P0: records(P0, 5)})
    checked = read(guard, {P0: records(P0, 6, 7, 20, 21)})
    assert (offsets_of(checked), checked.read_again) == ({P0: [6, 7]}, {P0: 8})


def test_a_gap_read_twice_is_taken_as_empty_offsets_and_passed() -> None:
    guard: OffsetGuard[TopicPartition] = OffsetGuard()  # e.g. a transaction marker, or a compacted topic
    read(guard, {P0: records(P0, 5)})
    assert read(guard, {P0: records(P0, 7, 8)}).read_again == {P0: 6}
    checked = read(guard, {P0: records(P0, 7, 8)})
    assert (offsets_of(checked), checked.read_again, checked.passed) == ({P0: [7, 8]}, {}, [(P0, 6, 6)])
    later = read(guard, {P0: records(P0, 9, 11)})  # a new gap is read again, as the first one was
    assert (offsets_of(later), later.read_again) == ({P0: [9]}, {P0: 10})


def test_records_below_the_next_expected_offset_are_not_processed_twice() -> None:
    guard: OffsetGuard[TopicPartition] = OffsetGuard()
    read(guard, {P0: records(P0, 5, 6)})
    assert offsets_of(read(guard, {P0: records(P0, 5, 6, 7)})) == {P0: [7]}


def test_a_partition_assigned_again_is_read_from_wherever_the_group_left_it() -> None:
    guard: OffsetGuard[TopicPartition] = OffsetGuard()
    read(guard, {P0: records(P0, 5, 6)})
    guard.forget({P0})  # another worker may have processed and committed up to 40 meanwhile
    checked = read(guard, {P0: records(P0, 40, 41)})
    assert (offsets_of(checked), checked.read_again) == ({P0: [40, 41]}, {})


class FakeRuntime:
    """Applies and settles batches, recording what happened in which order; a settle can be held."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[int, int]]] = []
        self.steps: list[str] = []
        self.hold_settle = asyncio.Event()
        self.hold_settle.set()

    async def apply(self, batch: list[Incoming]) -> Any:
        self.batches.append([(m.partition, m.offset) for m in batch])
        self.steps.append(f"apply {len(self.batches)}")
        return SimpleNamespace(number=len(self.batches), report=SimpleNamespace(received=len(batch)))

    async def settle(self, applied: Any) -> None:
        self.steps.append(f"settle {applied.number} starts")
        await self.hold_settle.wait()
        self.steps.append(f"settle {applied.number} done")


class FakeKafkaConsumer:
    """What the events consumer asks of aiokafka's consumer around one fetch."""

    def __init__(self, owned: set[TopicPartition]) -> None:
        self.owned = owned
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.steps: list[str] | None = None  # shared with the FakeRuntime's, to see the order of both

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)
        if self.steps is not None:
            self.steps.append(f"commit {offsets}")

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


def consumer_for(kafka: FakeKafkaConsumer, runtime: FakeRuntime, *, commit_interval_ms: int = 0) -> EventConsumer:
    events = EventConsumer(Settings(commit_interval_ms=commit_interval_ms), cast(Any, runtime))
    events._consumer = cast(Any, kafka)  # what start() connects
    return events


async def test_the_worker_processes_and_commits_up_to_a_hole_then_reads_the_partition_again_from_it() -> None:
    runtime, kafka = FakeRuntime(), FakeKafkaConsumer({P0, P1})
    events = consumer_for(kafka, runtime)
    await events._process(cast(Any, kafka), {P0: records(P0, 0, 1), P1: records(P1, 0)})
    await events._process(cast(Any, kafka), {P0: records(P0, 2, 5), P1: records(P1, 3)})
    await events._settled()
    assert runtime.batches == [[(0, 0), (0, 1), (1, 0)], [(0, 2)]]
    assert kafka.commits == [{P0: 2, P1: 1}, {P0: 3}]
    assert kafka.seeks == [(P0, 3), (P1, 1)]


def consumer_with_steps(commit_interval_ms: int = 0) -> tuple[EventConsumer, FakeRuntime, FakeKafkaConsumer]:
    runtime, kafka = FakeRuntime(), FakeKafkaConsumer({P0})
    kafka.steps = runtime.steps
    return consumer_for(kafka, runtime, commit_interval_ms=commit_interval_ms), runtime, kafka


async def test_the_next_batch_is_applied_while_the_previous_one_is_relayed_and_offsets_commit_in_order() -> None:
    events, runtime, kafka = consumer_with_steps()
    runtime.hold_settle.clear()  # the broker is slow to take batch 1's messages
    await events._process(cast(Any, kafka), {P0: records(P0, 0, 1)})
    await asyncio.sleep(0)
    second = asyncio.create_task(events._process(cast(Any, kafka), {P0: records(P0, 2)}))
    await asyncio.sleep(0.01)
    assert runtime.steps == ["apply 1", "settle 1 starts", "apply 2"], "batch 2 waits for batch 1's relay"
    assert kafka.commits == [] and not second.done()
    runtime.hold_settle.set()
    await second
    await events._settled()
    steps = runtime.steps
    assert steps.index(f"commit {({P0: 2})}") > steps.index("settle 1 done"), "offsets go only once relayed"
    assert steps.index(f"commit {({P0: 3})}") > steps.index("settle 2 done")
    assert kafka.commits == [{P0: 2}, {P0: 3}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_offsets_relayed_within_the_commit_interval_go_in_one_commit(monkeypatch: Any) -> None:
    clock = Clock()
    monkeypatch.setattr("orchestrator.app.consumer.time", clock)
    events, _, kafka = consumer_with_steps(commit_interval_ms=1000)
    for first in (0, 2, 4):
        await events._process(cast(Any, kafka), {P0: records(P0, first, first + 1)})
        await events._relayed()
        await asyncio.sleep(0)
    assert kafka.commits == [{P0: 2}], "the first batch commits at once; the next two wait for the interval"
    clock.now += 0.5
    events._commit_when_due(cast(Any, kafka))  # what the fetch loop does after every fetch
    await asyncio.sleep(0)
    assert kafka.commits == [{P0: 2}]
    clock.now += 0.5
    events._commit_when_due(cast(Any, kafka))
    await asyncio.sleep(0)
    assert kafka.commits == [{P0: 2}, {P0: 6}]


async def test_a_commit_that_fails_other_than_as_kafka_trouble_stops_the_consumer_at_the_next_commit() -> None:
    events, _, kafka = consumer_with_steps()

    async def broken(offsets: dict[TopicPartition, int]) -> None:
        raise RuntimeError("a bug in the client")

    kafka.commit = broken  # type: ignore[method-assign]
    await events._process(cast(Any, kafka), {P0: records(P0, 0)})
    await events._relayed()
    with pytest.raises(RuntimeError, match="a bug in the client"):
        await events._settled()


async def test_a_commit_the_group_refuses_is_logged_and_the_next_one_goes_on() -> None:
    events, _, kafka = consumer_with_steps()
    refused: list[dict[TopicPartition, int]] = []
    commit = kafka.commit

    async def refuse_first(offsets: dict[TopicPartition, int]) -> None:
        if not refused:
            refused.append(offsets)
            raise CommitFailedError("the group rebalanced")
        await commit(offsets)

    kafka.commit = refuse_first  # type: ignore[method-assign]
    await events._process(cast(Any, kafka), {P0: records(P0, 0)})
    await events._process(cast(Any, kafka), {P0: records(P0, 1)})
    await events._settled()
    assert (refused, kafka.commits) == ([{P0: 1}], [{P0: 2}])


async def test_a_stop_or_rebalance_commits_what_waits_for_the_interval() -> None:
    events, _, kafka = consumer_with_steps(commit_interval_ms=3_600_000)
    await events._process(cast(Any, kafka), {P0: records(P0, 0)})
    await events._process(cast(Any, kafka), {P0: records(P0, 1, 2)})
    await events.on_partitions_revoked({P0})
    assert kafka.commits == [{P0: 1}, {P0: 3}]


async def test_partitions_are_given_up_only_once_the_last_batch_is_relayed_and_committed() -> None:
    events, runtime, kafka = consumer_with_steps()
    runtime.hold_settle.clear()
    await events._process(cast(Any, kafka), {P0: records(P0, 0, 1)})
    revoke = asyncio.create_task(events.on_partitions_revoked({P0}))
    await asyncio.sleep(0.01)
    assert not revoke.done() and kafka.commits == []
    runtime.hold_settle.set()
    await revoke
    assert kafka.commits == [{P0: 2}]
