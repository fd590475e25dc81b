"""What the events consumer hands the processor, and which offsets it commits after."""

from __future__ import annotations

from typing import NamedTuple

from aiokafka import TopicPartition

from orchestrator.app.consumer import next_offsets, to_batch

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
