"""Real servers for the tests, picked in this order:

1. the ones named by ORCH_TEST_REDIS_URL / ORCH_TEST_KAFKA_BOOTSTRAP;
2. containers (testcontainers: Redis and Apache Kafka) when ORCH_TEST_DOCKER=1 and a Docker engine answers;
3. a Redis and a Tansu broker started here on free ports (the default; no Docker needed).
All are stopped at the end of the session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def _drop_stale_native_engine() -> None:
    """Modules compiled by ``make`` (tools/build_native.py) take precedence over their sources: when a source
    was edited since, remove every compiled module so that the tests run the edit (``make`` rebuilds)."""
    compiled = list((Path(__file__).resolve().parents[1] / "orchestrator").rglob("*.so"))
    sources = [so.parent / f"{so.name.split('.')[0]}.py" for so in compiled]
    if any(py.exists() and py.stat().st_mtime > so.stat().st_mtime for so, py in zip(compiled, sources, strict=True)):
        for so in compiled:
            so.unlink()


_drop_stale_native_engine()  # before anything imports the engine

from orchestrator.adapters.redis_store import RedisStore  # noqa: E402
from orchestrator.adapters.servers import start_redis, start_tansu  # noqa: E402

RedisStoreFactory = Callable[..., RedisStore]


def _docker_wanted() -> bool:
    if os.environ.get("ORCH_TEST_DOCKER") != "1":
        return False
    try:
        import docker  # testcontainers' client

        docker.from_env().ping()
    except Exception as exc:
        pytest.fail(f"ORCH_TEST_DOCKER=1 but no Docker engine answers ({exc}); unset it to use embedded servers")
    return True


@contextmanager
def _container(kind: str) -> Iterator[str]:
    if kind == "redis":
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7.4-alpine") as redis_container:
            host, port = redis_container.get_container_host_ip(), redis_container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
    else:
        from testcontainers.kafka import KafkaContainer

        kafka: Any = KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft()
        with kafka:
            yield kafka.get_bootstrap_server()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("ORCH_TEST_REDIS_URL")
    if external:
        yield external
        return
    if _docker_wanted():
        with _container("redis") as url:
            yield url
        return
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("ORCH_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    if _docker_wanted():
        with _container("kafka") as bootstrap:
            yield bootstrap
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
