"""Real servers for the tests: the ones named by ORCH_TEST_REDIS_URL / ORCH_TEST_KAFKA_BOOTSTRAP when set,
otherwise a Redis and a Tansu broker started here on free ports and stopped at the end of the session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from orchestrator.adapters.redis_store import RedisStore
from orchestrator.adapters.servers import start_redis, start_tansu

RedisStoreFactory = Callable[..., RedisStore]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("ORCH_TEST_REDIS_URL")
    if external:
        yield external
        return
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("ORCH_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    with start_tansu(tmp_path_factory.mktemp("tansu")) as server:
        yield server.url


@pytest.fixture
async def redis_store_factory(redis_url: str) -> AsyncIterator[RedisStoreFactory]:
    """Makes RedisStores that share one key prefix of their own; their keys are deleted after the test."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    made: list[RedisStore] = []

    def make(**options: int) -> RedisStore:
        store = RedisStore.from_url(redis_url, prefix=prefix, **options)
        made.append(store)
        return store

    yield make
    cleaner = make()
    keys = [key async for key in cleaner.redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await cleaner.redis.delete(*keys)
    for store in made:
        await store.close()


@pytest.fixture
def redis_store(redis_store_factory: RedisStoreFactory) -> RedisStore:
    return redis_store_factory()
