"""Scale mode: the orchestrator over more and more distinct orders (10k -> 1M in the full setting), each step
on a fresh namespace: the worker's peak RSS and the Redis bytes each completed order leaves behind (state,
audit streams, applied-event ledger, children index), with one order's keys broken down."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.config import EVENTS_PER_ORDER, RETAILER, BenchConfig, Namespace
from bench.contestants.specs import SPECS
from bench.load import order_ref, phase1, phase2
from bench.run import BenchFailure, ContestantRun, offsets, say
from bench.stack import Servers, create_topics, drop_keys, drop_topics, redis_used_memory

FULL_STEPS = (10_000, 30_000, 100_000, 300_000, 1_000_000)
QUICK_STEPS = (300, 1_000)
MB = 1024 * 1024
MAX_WAIT_S = 120
AUDIT_BYTES_PER_ORDER = 25_000  # in Redis until the audit retention runs out (24,966 B measured: 3,000 orders)


def scale_steps(max_orders: int, quick: bool) -> list[int]:
    if quick:
        return list(QUICK_STEPS)
    steps = [n for n in FULL_STEPS if n <= max_orders]
    return steps if steps and steps[-1] == max_orders else [*steps, max_orders]


async def key_breakdown(url: str, ns: Namespace, ref: str) -> dict[str, int]:
    """MEMORY USAGE of each key of one completed order (its root's hash tag), by key kind."""
    redis = Redis.from_url(url)
    out: dict[str, int] = {}
    try:
        async for key in redis.scan_iter(match=f"{ns.key_prefix}:{{{RETAILER}:ORDER:{ref}}}:*", count=1000):
            kind = key.decode().split("}:", 1)[1]
            kind = kind.replace(ref, "<ref>")
            out[kind] = int(await redis.memory_usage(key) or 0)
    finally:
        await redis.aclose()
    return out


def audit_retention_s() -> int | None:
    """The worker's audit retention when it is short enough to wait out (the worker gets our ORCH_* env)."""
    value = os.environ.get("ORCH_AUDIT_RETENTION_S", "")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_WAIT_S else None


async def expire_namespace(url: str, ns: Namespace) -> None:
    """Touch every key of the namespace, so that those past their TTL are deleted now rather than whenever
    Redis's sampling expiry gets to them."""
    redis = Redis.from_url(url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{ns.key_prefix}:*", count=10_000)]
        for at in range(0, len(keys), 10_000):
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys[at:at + 10_000]:
                    pipe.exists(key)
                await pipe.execute()
    finally:
        await redis.aclose()


async def _after_retention(servers: Servers, ns: Namespace, before: int, orders: int, ref: str) -> dict[str, Any]:
    """Redis bytes per order once the audit retention has run out: what a completed order costs for good."""
    retention = audit_retention_s()
    if retention is None:
        return {}
    say(f"scale {orders:,}: waiting {retention + 1}s for the audit retention (ORCH_AUDIT_RETENTION_S) to run out")
    await asyncio.sleep(retention + 1)
    await expire_namespace(servers.redis_url, ns)
    after = await redis_used_memory(servers.redis_url)
    return {"audit_retention_s": retention, "redis_bytes_per_order_after_retention": round((after - before) / orders),
            "one_order_keys_after_retention": await key_breakdown(servers.redis_url, ns, ref)}


def waves(refs: list[str], size: int) -> list[list[str]]:
    """The orders of a step in waves of at most ``size``, each run on topics of its own. The worker keeps
    nothing per order, so a wave's worker meets the whole step's keyspace in Redis as one worker would."""
    return [refs[at:at + size] for at in range(0, len(refs), size)]


def refuse_unbounded_audit(servers: Servers, orders: int, wave_orders: int) -> None:
    """A step beyond one wave on the embedded Redis needs a short audit retention, or the audit fills memory."""
    if orders > wave_orders and servers.embedded and audit_retention_s() is None:
        raise BenchFailure(
            f"{orders:,} orders would keep about {orders * AUDIT_BYTES_PER_ORDER / 1e9:,.1f} GB of audit in the "
            f"embedded Redis at the default retention; set ORCH_AUDIT_RETENTION_S (1 to {MAX_WAIT_S}, e.g. 2): "
            "the step then waits it out and measures what a completed order keeps for good")


async def _run_wave(cfg: BenchConfig, servers: Servers, log_dir: Path, refs: list[str], *, keys: str,
                    label: str) -> ContestantRun:
    """One wave's two phases, each on a fresh worker, on topics of its own that are deleted after it (the
    embedded broker keeps every record in memory); its states stay in the step's keyspace (``keys``)."""
    run = ContestantRun(SPECS["orchestrator"], servers, cfg, log_dir, Namespace(keys=keys))
    await create_topics(servers.bootstrap, run.ns)
    try:
        async with offsets(servers.bootstrap, run.ns.group) as off:
            await run.preloaded_phase(off, f"{label} phase 1", phase1(refs))
            await run.preloaded_phase(off, f"{label} phase 2", phase2(refs))
    finally:
        run.stop_worker()
        await drop_topics(servers, run.ns)
    return run


async def _step(cfg: BenchConfig, servers: Servers, log_dir: Path, orders: int) -> dict[str, Any]:
    refuse_unbounded_audit(servers, orders, cfg.wave_orders)
    tag = uuid.uuid4().hex[:4].upper()
    refs = [order_ref(f"{tag}-", i) for i in range(orders)]
    ns = Namespace()  # the keyspace every wave writes to
    before = await redis_used_memory(servers.redis_url)
    runs: list[ContestantRun] = []
    try:
        parts = waves(refs, cfg.wave_orders)
        for i, part in enumerate(parts):
            label = f"{orders:,} orders" + (f", wave {i + 1}/{len(parts)}" if len(parts) > 1 else "")
            runs.append(await _run_wave(cfg, servers, log_dir, part, keys=ns.key_prefix, label=label))
        after = await redis_used_memory(servers.redis_url)
        breakdown = await key_breakdown(servers.redis_url, ns, refs[len(refs) // 2])
        expired = await _after_retention(servers, ns, before, orders, refs[len(refs) // 2])
        say(f"scale {orders:,}: checking every order in Redis")
        problems = await SPECS["orchestrator"].check(servers, ns, refs)
    finally:
        try:
            await drop_keys(servers, ns)
        except Exception as exc:  # cleaning up must not lose the step's result
            say(f"scale {orders:,}: could not drop {ns.key_prefix}: {type(exc).__name__}: {exc}")
    phases = [p for run in runs for p in run.phases]
    wall = sum(p.wall_s for p in phases)
    events = sum(p.events for p in phases)
    step = {"orders": orders, "waves": len(runs), "input_events": orders * EVENTS_PER_ORDER, "events": events,
            "events_per_s": round(events / wall, 1), "orders_per_s": round(orders / wall, 1),
            "cpu_us_per_event": round(sum(p.cpu_s for p in phases) / events * 1e6, 1),
            "peak_rss_mb": round(max(run.peak_rss for run in runs) / MB, 1), "redis_bytes": after - before,
            "redis_bytes_per_order": round((after - before) / orders), "one_order_keys": breakdown,
            "check": problems or "ok", **expired}
    say(f"scale {orders:,}: {step['events_per_s']:,.0f} events/s, worker peak RSS {step['peak_rss_mb']:,.0f} MB, "
        f"Redis {step['redis_bytes_per_order']:,} bytes/order"
        + (f", {expired['redis_bytes_per_order_after_retention']:,} once the audit expired" if expired else ""))
    return step


async def run_scale(cfg: BenchConfig, servers: Servers, log_dir: Path, steps: list[int]) -> dict[str, Any]:
    say(f"scale steps: {', '.join(f'{n:,}' for n in steps)} orders"
        + ("" if steps[-1] >= FULL_STEPS[-1] else f" (the full setting goes to {FULL_STEPS[-1]:,}: --max-orders)"))
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for orders in steps:
        try:
            step = await _step(cfg, servers, log_dir, orders)
        except BenchFailure as exc:
            failures.append(f"scale {orders:,}: {exc}")
            say(f"scale {orders:,}: FAILED: {exc}")
            break
        results.append(step)
        if step["check"] != "ok":
            failures.extend(f"scale {orders:,}: {c}" for c in step["check"])
    return {"steps": results, "failures": failures, "full_setting_max_orders": FULL_STEPS[-1]}


def scale_table(results: dict[str, Any]) -> str:
    head = (f"{'orders':>10}{'events/s':>10}{'CPU µs/ev':>11}{'peak RSS MB':>13}{'Redis B/order':>15}"
            f"{'after retention':>17}  check")
    lines = [head, "-" * len(head)]
    for s in results["steps"]:
        check = "ok" if s["check"] == "ok" else "FAILED"
        expired = s.get("redis_bytes_per_order_after_retention")
        lines.append(f"{s['orders']:>10,}{s['events_per_s']:>10,.0f}{s['cpu_us_per_event']:>11,.0f}"
                     f"{s['peak_rss_mb']:>13,.0f}{s['redis_bytes_per_order']:>15,}"
                     f"{'-' if expired is None else f'{expired:,}':>17}  {check}")
    lines.extend(f"{s['orders']:,} orders ran in {s['waves']} waves, each on topics of its own"
                 for s in results["steps"] if s.get("waves", 1) > 1)
    if results["steps"]:
        last = results["steps"][-1]
        keys = last.get("one_order_keys_after_retention") or last["one_order_keys"]
        lines.append("one completed order's keys (MEMORY USAGE bytes): "
                     + ", ".join(f"{k} {v:,}" for k, v in sorted(keys.items())))
    if results["steps"] and results["steps"][-1]["orders"] < results["full_setting_max_orders"]:
        lines.append(f"(reduced run; the full setting goes to {results['full_setting_max_orders']:,} orders: "
                     "--max-orders 1000000)")
    return "\n".join(lines)
