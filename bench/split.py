"""Split mode: the same preloaded load on N workers against 1, in one consumer group over the same partitions.

Workers start first and the load goes on once the group has shared out every partition, so both runs measure
the processing, not a rebalance. Each worker's share comes from its own log (``batch_applied`` lines at DEBUG)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any, cast

from bench.config import PARTITIONS, BenchConfig
from bench.contestants.specs import SPECS, orchestrator_command
from bench.load import Message, order_ref, phase1, phase2, preload
from bench.proc import WorkerProc
from bench.run import BenchFailure, ContestantRun, offsets, say
from bench.stack import Offsets, Servers, create_topics, drop_namespace, first_timestamp

MB = 1024 * 1024


def _assigned(worker: WorkerProc, topic: str) -> set[int]:
    records = worker.json_logs("partitions_assigned")
    if not records:
        return set()
    parts = cast(list[object], records[-1].get("partitions") or [])
    prefix = f"{topic}["
    return {int(p[len(prefix) : -1]) for p in parts if isinstance(p, str) and p.startswith(prefix)}


async def _wait_split(workers: list[WorkerProc], topic: str, timeout: float = 120.0) -> list[set[int]]:
    deadline = time.monotonic() + timeout
    while True:
        owned = [_assigned(w, topic) for w in workers]
        if all(owned) and set().union(*owned) == set(range(PARTITIONS)) and sum(map(len, owned)) == PARTITIONS:
            return owned
        for w in workers:
            if not w.running:
                raise BenchFailure(f"worker {w.log_path.name} exited\n{w.tail()}")
        if time.monotonic() > deadline:
            raise BenchFailure(f"the partitions were not shared out after {timeout:g}s: {owned}")
        await asyncio.sleep(0.25)


async def _phase(run: ContestantRun, off: Offsets, workers: list[WorkerProc], name: str,
                 messages: list[Message]) -> tuple[float, list[float]]:
    before = sum((await off.committed(run.ns.events_topic)).values())
    since = time.time()
    sent = await preload(run.servers.bootstrap, run.ns.events_topic, messages)
    end = await run.wait_drained(off, name, before, before + run.spec.consumed_per_input * sent)
    start = await first_timestamp(run.servers.bootstrap, run.ns.audit_topic, since)
    if start is None:
        raise BenchFailure(f"{name}: no output")
    return end - start, [w.cpu_at(end) - w.cpu_at(start) for w in workers]


async def _one(cfg: BenchConfig, servers: Servers, log_dir: Path, n_workers: int, refs: list[str]) -> dict[str, Any]:
    run = ContestantRun(SPECS["orchestrator"], servers, cfg, log_dir)
    await create_topics(servers.bootstrap, run.ns)
    workers: list[WorkerProc] = []
    try:
        for i in range(n_workers):
            argv, env = orchestrator_command(servers, run.ns, log_level="DEBUG")
            workers.append(WorkerProc(f"w{i + 1}", argv, env, log_dir / f"split-{run.ns.prefix}-w{i + 1}.log").start())
        owned = await _wait_split(workers, run.ns.events_topic)
        say(f"split {n_workers} worker(s): partitions {[sorted(o) for o in owned]}")
        async with offsets(servers.bootstrap, run.ns.group) as off:
            wall1, cpu1 = await _phase(run, off, workers, f"{n_workers}w phase 1", list(phase1(refs)))
            wall2, cpu2 = await _phase(run, off, workers, f"{n_workers}w phase 2", list(phase2(refs)))
        received = [sum(int(str(r.get("events_run", 0))) for r in w.json_logs("batch_applied")) for w in workers]
        rss = [w.read_peak_rss() for w in workers]
        problems = await SPECS["orchestrator"].check(servers, run.ns, refs)
    finally:
        for w in workers:
            w.stop()
        await drop_namespace(servers, run.ns)
    events = 12 * len(refs)
    wall = wall1 + wall2
    return {"workers": n_workers, "events": events, "wall_s": round(wall, 3), "events_per_s": round(events / wall, 1),
            "per_worker": [{"partitions": sorted(o), "events": r, "share": round(r / max(sum(received), 1), 3),
                            "cpu_s": round(c1 + c2, 2), "peak_rss_mb": round(m / MB, 1)}
                           for o, r, c1, c2, m in zip(owned, received, cpu1, cpu2, rss, strict=True)],
            "check": problems or "ok"}


async def run_split(cfg: BenchConfig, servers: Servers, log_dir: Path, n_workers: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:4].upper()
    refs = [order_ref(f"{tag}-", i) for i in range(cfg.orders)]
    runs, failures = [], []
    for n in (1, n_workers):
        say(f"\n=== split: {n} worker(s), {len(refs):,} orders")
        try:
            result = await _one(cfg, servers, log_dir, n, refs)
        except BenchFailure as exc:
            failures.append(f"{n} worker(s): {exc}")
            break
        runs.append(result)
        if result["check"] != "ok":
            failures.extend(f"{n} worker(s): {c}" for c in result["check"])
    speedup = runs[-1]["events_per_s"] / runs[0]["events_per_s"] if len(runs) == 2 else None
    return {"runs": runs, "speedup": speedup and round(speedup, 3), "failures": failures}


def split_table(results: dict[str, Any]) -> str:
    lines = [f"{'workers':>8}{'events/s':>10}  per worker (partitions: events, share, CPU s, peak RSS MB)"]
    for r in results["runs"]:
        parts = "; ".join(f"{w['partitions']}: {w['events']:,} ({w['share']:.0%}), {w['cpu_s']:.1f}s, "
                          f"{w['peak_rss_mb']:.0f}MB" for w in r["per_worker"])
        lines.append(f"{r['workers']:>8}{r['events_per_s']:>10,.0f}  {parts}")
    if results["speedup"]:
        lines.append(f"speedup {results['runs'][-1]['workers']} workers / 1: {results['speedup']:.2f}x "
                     "(on this machine's 2 cores, shared with the broker, Redis and the harness)")
    return "\n".join(lines)
