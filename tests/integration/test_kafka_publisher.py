"""The relay's publisher on a real broker: a key lands where any Kafka client would put it, in order."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from orchestrator.adapters.kafka_publisher import KafkaPublisher
from orchestrator.adapters.servers import ensure_topics
from orchestrator.ports import Record

pytestmark = pytest.mark.integration


async def test_each_key_lands_on_the_partition_aiokafkas_default_partitioner_picks(kafka_bootstrap: str) -> None:
    ours, theirs = f"pub-{uuid.uuid4().hex[:8]}.ours", f"pub-{uuid.uuid4().hex[:8]}.theirs"
    await ensure_topics(kafka_bootstrap, [ours, theirs], partitions=4)
    keys = [f"1:ORDER:O-{n}".encode() for n in range(40)] + [b"", b"x" * 300]
    async with KafkaPublisher(kafka_bootstrap) as publisher:
        await publisher.publish([Record(ours, key, b"%d" % i) for i, key in enumerate(keys)])
        await publisher.publish([Record(ours, key, b"again") for key in keys[:3]])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for key in keys:
            await producer.send_and_wait(theirs, b"-", key=key)
    finally:
        await producer.stop()
    placed_ours = await _placement(kafka_bootstrap, ours, len(keys) + 3)
    placed_theirs = await _placement(kafka_bootstrap, theirs, len(keys))
    assert placed_ours.keys() == placed_theirs.keys()
    assert {k: set(p) for k, p in placed_ours.items()} == {k: set(p) for k, p in placed_theirs.items()}
    assert len({parts[0] for parts in placed_theirs.values()}) == 4, "the keys spread over every partition"


async def _placement(bootstrap: str, topic: str, expected: int) -> dict[bytes, list[int]]:
    """Each key's partitions, one per record, in the order the records were consumed."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=f"g-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    placed: dict[bytes, list[int]] = {}
    try:
        seen = 0
        while seen < expected:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    placed.setdefault(record.key or b"", []).append(tp.partition)
                    seen += 1
    finally:
        await consumer.stop()
    return placed
