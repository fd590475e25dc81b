"""A commit sent in parts on one Redis connection, so Redis runs the first steps while the worker decides the next.

Each part is packed and written at once (``commit.lua`` by EVALSHA, one per request); the replies are read
when the results are asked for. One connection keeps the steps in the order sent, as one pipeline would:
a request chained to an earlier one (:class:`~orchestrator.adapters.memory_store.Chain`) always finds it
executed. A stream left with replies unread (the caller failed, or Redis did not answer in time) closes its
connection instead of returning it to the pool, so no later call reads those replies as its own. Steps
whose EVALSHA found no script (Redis restarted) run again on the same connection once it is loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from redis.exceptions import NoScriptError, ResponseError

from orchestrator.adapters.memory_store import Chain
from orchestrator.model import Entity, EntityKey, RootKey
from orchestrator.ports import CommitRequest, CommitResult, CommitStatus

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection

    from orchestrator.adapters.redis_store import RedisStore

COMMIT_SCRIPT = files(__package__).joinpath("commit.lua").read_bytes()
COMMIT_SHA = hashlib.sha1(COMMIT_SCRIPT, usedforsecurity=False).hexdigest()
STATUS_BY_CODE = (CommitStatus.APPLIED, CommitStatus.DUPLICATE, CommitStatus.CONFLICT)
WHAT = "the batch's commit (EVALSHA)"


class RedisCommitStream:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._chain = Chain()
        self._steps: list[tuple[CommitRequest, str]] = []
        self._connection: AbstractConnection | None = None
        self._unread = 0  # replies Redis owes on the connection

    async def send(self, requests: Sequence[CommitRequest]) -> None:
        await self._write([(r, self._chain.link(r)) for r in requests])

    async def results(self) -> list[CommitResult]:
        results, _ = await self.results_then_load([], [])
        return results

    async def results_then_load(self, keys: Sequence[EntityKey], roots: Sequence[RootKey]
                                ) -> tuple[list[CommitResult], list[Entity | None] | None]:
        """The MGET of ``keys`` goes on the connection behind the steps, so Redis runs it after them."""
        store = self._store
        names = store.state_names(keys, roots)
        if names:
            await self._send([("MGET", *names)])
        replies = await store.answer(self._read(), WHAT) if self._unread else []
        raw = replies.pop() if names else []
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:  # Redis restarted, or its script cache was flushed: load it, run those steps again
            await store.answer(store.redis.script_load(COMMIT_SCRIPT), "SCRIPT LOAD")
            await self._write([self._steps[i] for i in missing])
            for i, reply in zip(missing, await store.answer(self._read(), WHAT), strict=True):
                replies[i] = reply
        await self.close()
        self._steps = []
        results = [_result(reply) for reply in replies]
        if missing or isinstance(raw, Exception):  # steps run again came after the read; or it failed
            return results, None
        return results, store.decode_states(raw, keys, roots)

    async def _write(self, steps: list[tuple[CommitRequest, str]]) -> None:
        """Send each (request, the request it was decided on) as an EVALSHA of ``commit.lua``, at once."""
        await self._send([self._store.commit_command(r, base) for r, base in steps])
        self._steps.extend(steps)

    async def _send(self, commands: list[tuple[bytes | str | int, ...]]) -> None:
        if not commands:
            return
        connection = self._connection
        if connection is None:
            pool = self._store.redis.connection_pool
            connection = self._connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        packed = connection.pack_commands(commands)
        self._unread += len(commands)  # before writing: a write cut halfway leaves the connection unusable
        await self._store.answer(connection.send_packed_command(packed, check_health=False), WHAT)

    async def _read(self) -> list[Any]:
        connection = self._connection
        assert connection is not None
        replies: list[Any] = []
        while self._unread:
            try:
                replies.append(await connection.read_response())
            except ResponseError as exc:  # read whole: the connection stays in step
                replies.append(exc)
            self._unread -= 1
        return replies

    async def close(self) -> None:
        """Give the connection back to the pool, closed first when replies are still owed on it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._unread:
            self._unread = 0
            await connection.disconnect(nowait=True)
        await self._store.redis.connection_pool.release(connection)


def _result(reply: Any) -> CommitResult:
    if isinstance(reply, Exception):
        raise reply
    code, pending, in_flight = reply
    return CommitResult(STATUS_BY_CODE[int(code)], int(pending), int(in_flight))


__all__ = ["COMMIT_SCRIPT", "COMMIT_SHA", "RedisCommitStream"]
