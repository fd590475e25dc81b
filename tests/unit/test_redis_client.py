"""The worker's Redis client packs commands in C; what reaches Redis must be what redis-py itself would send."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import DataError

from orchestrator.adapters.redis_client import connect

COMMANDS = [
    (b"EVALSHA", "5c1f", 4, "orch:{r:ORDER:O-1}:e:ORDER:O-1", b"\x00\xff|bytes", -3, 10**20, 1.5, 1e-05, "ünïcode"),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT SETNAME", b"worker"),
    (b"SET", "k", b"v" * 100_000),
    (b"XADD", "audit", memoryview(b"mv"), "*"),
]


def wire(connection: Connection, args: tuple[object, ...]) -> bytes:
    return b"".join(bytes(chunk) for chunk in connection.pack_command(*args))


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: repr(a[0]))
def test_commands_reach_redis_as_redis_py_packs_them(args: tuple[object, ...]) -> None:
    client = connect("redis://localhost:6379/0")
    packed = client.connection_pool.make_connection()
    assert wire(packed, args) == wire(Connection(), args)


def test_a_pipeline_reaches_redis_as_redis_py_packs_it() -> None:
    packed = connect("redis://localhost:6379/0").connection_pool.make_connection()
    ours = b"".join(packed.pack_commands(COMMANDS))
    assert ours == b"".join(bytes(chunk) for chunk in Connection().pack_commands(COMMANDS))


@pytest.mark.parametrize(("url", "base"), [
    ("redis://localhost:6379/0", Connection),
    ("rediss://localhost:6380/0", SSLConnection),
    ("unix:///tmp/redis.sock", UnixDomainSocketConnection),
])
def test_the_url_still_chooses_the_transport(url: str, base: type) -> None:
    assert isinstance(connect(url).connection_pool.make_connection(), base)


@pytest.mark.parametrize("bad", [True, None, [1]])
def test_an_argument_redis_cannot_carry_is_refused_with_the_command_named(bad: object) -> None:
    packed = connect("redis://localhost:6379/0").connection_pool.make_connection()
    with pytest.raises(DataError, match="SET"):
        packed.pack_command(b"SET", "k", bad)
