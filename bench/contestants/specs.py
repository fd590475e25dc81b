"""How the harness runs each contestant: its command, where its output shows that an event's state was
committed, how many events it consumes per input event, and how to check that every order went through."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from redis.asyncio import Redis

from bench.config import (
    FULFILMENT_FINAL_VERSION,
    FULFILMENT_STEPS,
    ORDER_FINAL_VERSION,
    PARTITIONS,
    RETAILER,
    RULESETS,
    Namespace,
    env_batch_size,
)
from bench.load import fulfilment_ref
from bench.stack import Servers
from orchestrator.adapters.redis_store import RedisStore
from orchestrator.adapters.servers import free_port
from orchestrator.app.settings import Settings
from orchestrator.model import Category, EntityKey, RootKey, read_audit_message

CHUNK = 2000
Check = Callable[[Servers, Namespace, list[str]], Awaitable[list[str]]]


@dataclass(frozen=True)
class Spec:
    name: str
    describe: str
    command: Callable[[Servers, Namespace], tuple[list[str], dict[str, str]]]
    output_topic: Callable[[Namespace], str]  # its records show an event's state committed (latency, start)
    committed_events: Callable[[bytes], list[str]]  # the ids of the events an output record shows committed
    events_per_input: int  # events it runs per input event (the orchestrator also runs the events it sends)
    consumed_per_input: int  # of those, the ones it takes from Kafka (the rest run in the batch that sent them)
    check: Check


def _base_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def orchestrator_command(s: Servers, ns: Namespace, *,
                         log_level: str | None = None) -> tuple[list[str], dict[str, str]]:
    env = _base_env() | {  # other ORCH_* of the caller's environment (batch size, ...) pass through
        "ORCH_KAFKA_BOOTSTRAP": s.bootstrap, "ORCH_REDIS_URL": s.redis_url, "ORCH_TOPIC_PREFIX": ns.prefix,
        "ORCH_KEY_PREFIX": ns.key_prefix, "ORCH_CONSUMER_GROUP": ns.group, "ORCH_HTTP_PORT": str(free_port()),
        "ORCH_HTTP_HOST": "127.0.0.1", "ORCH_RULESETS": str(RULESETS), "ORCH_PARTITIONS": str(PARTITIONS),
        "ORCH_DATA_DIR": str(s.log_dir / "data"),
    }
    if log_level:
        env["ORCH_LOG_LEVEL"] = log_level
    return [str(Path(sys.executable).with_name("orchestrator")), "worker"], env


def _module_command(module: str) -> Callable[[Servers, Namespace], tuple[list[str], dict[str, str]]]:
    def command(s: Servers, ns: Namespace) -> tuple[list[str], dict[str, str]]:
        wait = os.environ.get("ORCH_BATCH_WAIT_MS", "10")
        argv = [sys.executable, "-m", module, "--bootstrap", s.bootstrap, "--redis-url", s.redis_url,
                "--prefix", ns.prefix, "--group", ns.group, "--batch-size", str(env_batch_size()),
                "--batch-wait-ms", wait, "--data-dir", str(s.log_dir)]
        return argv, _base_env()
    return command


def _tally(problems: dict[str, list[str]]) -> list[str]:
    return [f"{len(refs):,} {what} (e.g. {', '.join(refs[:3])})" for what, refs in problems.items() if refs]


async def check_orchestrator(s: Servers, ns: Namespace, refs: list[str]) -> list[str]:
    """Every order COMPLETE at version 6 (each event applied exactly once), every fulfilment DELIVERED at 6."""
    store = RedisStore.from_url(s.redis_url, prefix=ns.key_prefix)
    problems: dict[str, list[str]] = {}
    try:
        for i in range(0, len(refs), CHUNK):
            chunk = refs[i : i + CHUNK]
            roots = [RootKey(RETAILER, "ORDER", r) for r in chunk]
            orders = await store.load([EntityKey(RETAILER, "ORDER", r) for r in chunk], roots)
            fulfilments = await store.load([EntityKey(RETAILER, "FULFILMENT", fulfilment_ref(r)) for r in chunk], roots)
            for ref, order, ful in zip(chunk, orders, fulfilments, strict=True):
                if order is None or order.status != "COMPLETE" or order.version != ORDER_FINAL_VERSION:
                    state = "missing" if order is None else f"{order.status} v{order.version}"
                    problems.setdefault(f"orders not COMPLETE at v{ORDER_FINAL_VERSION}", []).append(f"{ref}: {state}")
                if ful is None or ful.status != "DELIVERED" or ful.version != FULFILMENT_FINAL_VERSION:
                    state = "missing" if ful is None else f"{ful.status} v{ful.version}"
                    problems.setdefault("fulfilments not DELIVERED", []).append(f"{ref}-F1: {state}")
    finally:
        await store.close()
    return _tally(problems)


async def check_passthrough(s: Servers, ns: Namespace, refs: list[str]) -> list[str]:
    """Every input event applied once: an order's state written once, its fulfilment's five times, in order."""
    redis = Redis.from_url(s.redis_url)
    problems: dict[str, list[str]] = {}
    try:
        for i in range(0, len(refs), CHUNK):
            chunk = refs[i : i + CHUNK]
            keys = [f"{ns.key_prefix}:{{{RETAILER}:ORDER:{r}}}:e:ORDER:{r}" for r in chunk]
            keys += [f"{ns.key_prefix}:{{{RETAILER}:ORDER:{r}}}:e:FULFILMENT:{fulfilment_ref(r)}" for r in chunk]
            values = await redis.mget(keys)
            for j, ref in enumerate(chunk):
                order, ful = values[j], values[len(chunk) + j]
                o = orjson.loads(order) if order else {"v": 0}
                f = orjson.loads(ful) if ful else {"v": 0}
                if o["v"] != 1:
                    problems.setdefault("orders whose CREATE was not applied once", []).append(f"{ref}: v{o['v']}")
                if f["v"] != len(FULFILMENT_STEPS) or f.get("lastEvent") != FULFILMENT_STEPS[-1]:
                    problems.setdefault("fulfilments without their five steps once", []).append(f"{ref}: v{f['v']}")
    finally:
        await redis.aclose()
    return _tally(problems)


async def check_nothing(s: Servers, ns: Namespace, refs: list[str]) -> list[str]:
    """The broker contestant keeps no state; its paced events are checked like everyone's (each echoed once)."""
    return []


def orchestrator_committed(value: bytes) -> list[str]:
    """An audit message holds one event's records; its EVENT records close each event it applied (an event
    sent inline has its own)."""
    if b'"category":"EVENT"' not in value:
        return []
    return [r.event_id for r in read_audit_message(value) if r.category is Category.EVENT]


def passthrough_committed(value: bytes) -> list[str]:
    """One record per event, written after the event's state."""
    return [orjson.loads(value)["eventId"]] if b'"eventId"' in value else []


def orchestrator_consumed_per_input() -> int:
    """The events the workflow sends (one per input event) run in the batch that sent them, as all of them stay
    within their order, unless ORCH_SAME_ROOT_ROUNDS=0 sends them through Kafka."""
    return 1 if Settings().same_root_rounds else 2


SPECS: dict[str, Spec] = {
    "orchestrator": Spec("orchestrator", "the real worker: workflows, audit, outbox, dedup",
                         orchestrator_command, lambda ns: ns.audit_topic, orchestrator_committed, 2,
                         orchestrator_consumed_per_input(), check_orchestrator),
    "limit": Spec("limit", "raw aiokafka: MGET + pipelined SET/XADD + 2 produced per event, batched",
                  _module_command("bench.contestants.limit"), lambda ns: ns.audit_topic, passthrough_committed, 1, 1,
                  check_passthrough),
    "broker": Spec("broker", "the broker alone: consume, produce a record per event, commit; no Redis (the floor)",
                   _module_command("bench.contestants.broker"), lambda ns: ns.audit_topic, passthrough_committed, 1, 1,
                   check_nothing),
    "naive": Spec("naive", "first-try Faust agent: awaited GET, SET, XADD, send per event",
                  _module_command("bench.contestants.naive"), lambda ns: ns.sink_topic, passthrough_committed, 1, 1,
                  check_passthrough),
}
