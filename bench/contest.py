"""The default mode: every contestant on the same preloaded load and the same paced load, one after another."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from bench.config import EVENTS_PER_ORDER, RATIO_BASES, BenchConfig
from bench.contestants.specs import SPECS, Spec
from bench.load import order_ref, phase1, phase2
from bench.run import BenchFailure, ContestantRun, Paced, offsets, paced_orders, say, summarize_paced
from bench.stack import Servers, create_topics, drop_namespace

MB = 1024 * 1024


def _run_order(names: tuple[str, ...]) -> list[str]:
    """The orchestrator first: its preloaded throughput sets the paced rate the others get too."""
    return sorted(names, key=lambda n: n != "orchestrator")


async def run_contest(cfg: BenchConfig, servers: Servers, log_dir: Path) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:4].upper()
    refs = [order_ref(f"{tag}-", i) for i in range(cfg.orders)]
    results: dict[str, Any] = {}
    rate = cfg.rate
    for name in _run_order(cfg.contestants):
        say(f"\n=== {name}: {SPECS[name].describe}")
        result, used_rate = await _contestant(SPECS[name], cfg, servers, log_dir, refs, rate=rate, tag=tag)
        results[name] = result
        rate = rate or used_rate
    return {"contestants": results, "paced_rate": rate, "ratios": ratios(results)}


async def _contestant(spec: Spec, cfg: BenchConfig, servers: Servers, log_dir: Path, refs: list[str], *,
                      rate: float | None, tag: str) -> tuple[dict[str, Any], float | None]:
    run = ContestantRun(spec, servers, cfg, log_dir)
    await create_topics(servers.bootstrap, run.ns)
    try:
        async with offsets(servers.bootstrap, run.ns.group) as off:
            await run.preloaded_phase(off, "phase 1 (CREATE)", phase1(refs))
            await run.preloaded_phase(off, "phase 2 (warehouse steps)", phase2(refs), keep_running=True)
            input_capacity = EVENTS_PER_ORDER * len(refs) / sum(p.wall_s for p in run.phases)
            rate = rate or round(input_capacity / 2)
            paced_refs = [order_ref(f"{tag}P", i) for i in range(paced_orders(rate, cfg.paced_seconds))]
            paced = await run.paced_phase(off, paced_refs, rate)
            run.stop_worker()
        say(f"{spec.name}: checking {len(refs) + len(paced_refs):,} orders in Redis")
        problems = await spec.check(servers, run.ns, refs + paced_refs)
        problems += _paced_problems(paced)
    except BenchFailure as exc:
        say(f"{spec.name}: FAILED: {exc}")
        done = [{"name": p.name, "events": p.events, "wall_s": round(p.wall_s, 3), "cpu_s": round(p.cpu_s, 3),
                 "events_per_s": round(p.events_per_s, 1)} for p in run.phases]
        return {"describe": spec.describe, "error": str(exc), "check": [str(exc).splitlines()[0]],
                "phases": done}, rate
    finally:
        run.stop_worker()
        await drop_namespace(servers, run.ns)
    for problem in problems:
        say(f"{spec.name}: CHECK FAILED: {problem}")
    return _result(spec, run, refs, paced, problems), rate


def _paced_problems(paced: Paced) -> list[str]:
    out = []
    if paced.missing:
        out.append(f"{paced.missing:,} paced events have no committed-state record")
    if paced.duplicates:
        out.append(f"{paced.duplicates:,} paced events were committed twice")
    return out


def _result(spec: Spec, run: ContestantRun, refs: list[str], paced: Paced, problems: list[str]) -> dict[str, Any]:
    events = sum(p.events for p in run.phases)
    wall = sum(p.wall_s for p in run.phases)
    cpu = sum(p.cpu_s for p in run.phases)
    input_events = EVENTS_PER_ORDER * len(refs)
    return {
        "describe": spec.describe,
        "input_events": input_events,
        "events": events,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "events_per_s": round(events / wall, 1),
        "input_events_per_s": round(input_events / wall, 1),
        "orders_per_s": round(len(refs) / wall, 1),
        "cpu_us_per_event": round(cpu / events * 1e6, 1),
        "peak_rss_mb": round(run.peak_rss / MB, 1),
        "latency": {k: round(v, 2) for k, v in summarize_paced(paced).items()},
        "paced": {"rate": paced.rate, "published": paced.published, "missing": paced.missing,
                  "duplicates": paced.duplicates, "drain_s": round(paced.drain_s, 2),
                  "latency_by_publish_time": paced.windows()},
        "phases": [{"name": p.name, "events": p.events, "wall_s": round(p.wall_s, 3), "cpu_s": round(p.cpu_s, 3),
                    "events_per_s": round(p.events_per_s, 1)} for p in run.phases],
        "check": problems or "ok",
    }


RATIO_METRICS = ("events_per_s", "input_events_per_s", "cpu_us_per_event", "peak_rss_mb")
RATIO_LATENCY = ("p50_ms", "p99_ms")


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """orchestrator/limit, orchestrator/broker and orchestrator/naive, for every metric both have."""
    out: dict[str, dict[str, float]] = {}
    orch = results.get("orchestrator", {})
    for other in RATIO_BASES:
        base = results.get(other, {})
        if "events" not in orch or "events" not in base:
            continue
        pair = {m: round(orch[m] / base[m], 3) for m in RATIO_METRICS if base.get(m)}
        pair |= {m: round(orch["latency"][m] / base["latency"][m], 3) for m in RATIO_LATENCY
                 if base["latency"].get(m)}
        out[f"orchestrator/{other}"] = pair
    return out
