"""A Redis that stops answering: the call fails with what and how to fix, and the retried batch is safe."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from orchestrator.adapters.redis_commit import COMMIT_SCRIPT
from orchestrator.adapters.redis_store import RedisStore
from orchestrator.app.api import respond, stream_end
from orchestrator.model import EntityKey, RootKey
from orchestrator.ports import CommitRequest, CommitStatus

ROOT = RootKey("1", "ORDER", "O-1")
ORDER = EntityKey("1", "ORDER", "O-1")
STATE = b'{"entitySubtype":"HD","status":"BOOKED"}'


class ReplyGate:
    """A TCP proxy in front of Redis that forwards commands always and replies only while ``open``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 6379
        self.db = parts.path or "/0"
        self.open = asyncio.Event()
        self.open.set()
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"redis://{host}:{port}{self.db}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)

    async def _client(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        redis_in, redis_out = await asyncio.open_connection(self.host, self.port)
        await asyncio.gather(self._pipe(client_in, redis_out, gated=False),
                             self._pipe(redis_in, client_out, gated=True), return_exceptions=True)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, gated: bool) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await source.read(65536):
                if gated:
                    await self.open.wait()
                sink.write(chunk)
                await sink.drain()
        sink.close()


@pytest.fixture
async def gate(redis_url: str) -> AsyncIterator[ReplyGate]:
    proxy = ReplyGate(redis_url)
    await proxy.start()
    yield proxy
    assert proxy.server is not None
    proxy.server.close()


def create(event_id: str) -> CommitRequest:
    return CommitRequest(event_id, ROOT, ORDER, 0, STATE, b"", [])


async def test_a_silent_redis_fails_the_call_naming_it_and_the_retry_is_deduplicated(gate: ReplyGate) -> None:
    store = RedisStore.from_url(gate.url, prefix=f"test-{uuid.uuid4().hex[:12]}", timeout_s=0.3)
    try:
        await store.redis.script_load(COMMIT_SCRIPT)  # connected and loaded: the commit below gets applied
        gate.open.clear()
        with pytest.raises(RedisTimeoutError, match=r"commit \(EVALSHA\) within 0.3 s.*ORCH_REDIS_TIMEOUT_S"):
            await store.commit([create("e1")])
        gate.open.set()  # the late replies of the timed-out call must not be read as the next call's
        [retried] = await store.commit([create("e1")])
        [state] = await store.load([ORDER], [ROOT])
    finally:
        keys = [k async for k in store.redis.scan_iter(match=f"{store.keys.prefix}:*")]
        if keys:
            await store.redis.delete(*keys)
        await store.close()
    assert retried.status is CommitStatus.DUPLICATE  # the first commit reached Redis; only its reply was held
    assert state is not None and (state.status, state.version) == ("BOOKED", 1)


async def test_a_silent_redis_fails_a_keyspace_scan_too(gate: ReplyGate) -> None:
    store = RedisStore.from_url(gate.url, prefix=f"test-{uuid.uuid4().hex[:12]}", timeout_s=0.3)
    try:
        gate.open.clear()
        with pytest.raises(RedisTimeoutError, match="SCAN"):
            await store.roots_with_outbox()
    finally:
        gate.open.set()
        await store.close()


class JsonView:
    """What ``respond`` needs of a Faust view: ``json(body, status)``."""

    def json(self, body: object, status: int) -> tuple[int, object]:
        return status, body


async def test_the_api_answers_503_when_redis_is_silent_during_a_sync_send(gate: ReplyGate) -> None:
    store = RedisStore.from_url(gate.url, prefix=f"test-{uuid.uuid4().hex[:12]}", timeout_s=0.3)

    async def read_stream_end(request: object, params: object) -> tuple[int, dict[str, object]]:
        return 200, {"end": (await store.answer(stream_end(store.redis, store.keys.audit(ROOT, ORDER)), "XREVRANGE"))}

    try:
        gate.open.clear()
        status, body = await respond(JsonView(), read_stream_end, None, {})  # type: ignore[arg-type]
    finally:
        gate.open.set()
        await store.close()
    assert status == 503 and "ORCH_REDIS_URL" in str(body)
