"""The relay's partitioner hash: a root's events must land where any Kafka client would put them."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.adapters.partitioning import murmur2

# the Java client's own test vectors (signed 32-bit values), org.apache.kafka.common.utils.UtilsTest
JAVA_CLIENT_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("key", JAVA_CLIENT_VECTORS)
def test_hash_is_the_java_clients(key: bytes) -> None:
    unsigned = murmur2(key)
    as_java_int = unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned
    assert as_java_int == JAVA_CLIENT_VECTORS[key]


@given(st.binary(max_size=600))
def test_hash_is_aiokafkas_for_any_key(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)

