"""`make bench` = ``python -m bench``: one command, one run, one broker, one Redis, the same load for all.

Modes:
  contest (default)  orchestrator vs limit vs naive: events/s, CPU µs/event, latency percentiles, peak RSS
  scale              the orchestrator over 10k -> 1M distinct orders: worker RSS, Redis bytes per order
  split              the orchestrator with 2 workers against 1 on the same partitions: throughput and split

Servers: the embedded default (Tansu + redis-server started here), or ORCH_KAFKA_BOOTSTRAP + ORCH_REDIS_URL.
Exit status 1 when any order did not complete exactly once (or a worker died or stalled).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from typing import Any

from bench.config import CONTESTANTS, BenchConfig
from bench.contest import run_contest
from bench.plot import plot_contest, plot_scale
from bench.report import append_csv, git_commit, machine, table, timestamp, write_json
from bench.run import say
from bench.scale import run_scale, scale_steps, scale_table
from bench.split import run_split, split_table
from bench.stack import server_versions, servers
from bench.targets import as_json, judge_contest, judge_scale, render

QUICK_ORDERS = 500


def parse(argv: list[str] | None = None) -> tuple[str, BenchConfig, argparse.Namespace]:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=("contest", "scale", "split"), default="contest")
    p.add_argument("--orders", type=int, help="orders preloaded (default 20,000; --quick 500)")
    p.add_argument("--rate", type=float, help="paced input events/s (default: half the orchestrator's capacity)")
    p.add_argument("--paced-seconds", type=float, help="how long new orders start in the paced run (default 30)")
    p.add_argument("--contestants", default=",".join(CONTESTANTS), help="comma-separated subset")
    p.add_argument("--quick", action="store_true", help="a small run (CI smoke); not added to results.csv")
    p.add_argument("--no-csv", action="store_true", help="do not append to bench/results.csv")
    p.add_argument("--max-orders", type=int, default=100_000,
                   help="scale mode: the largest step (the full setting is 1,000,000)")
    p.add_argument("--steps", help="scale mode: the exact order counts to run, e.g. 10000,1000000 (default: the "
                                   "full setting's steps up to --max-orders)")
    p.add_argument("--wave-orders", type=int, default=BenchConfig.wave_orders,
                   help="scale mode: a larger step runs in waves of this many orders, each on topics of its own "
                        "(the embedded broker keeps every record in memory; default 100,000)")
    p.add_argument("--workers", type=int, default=2, help="split mode: workers against 1")
    a = p.parse_args(argv)
    names = tuple(n.strip() for n in a.contestants.split(",") if n.strip())
    unknown = set(names) - set(CONTESTANTS)
    if unknown:
        p.error(f"unknown contestant(s) {sorted(unknown)}; choose from {', '.join(CONTESTANTS)}")
    if a.steps and not all(n.strip().isdigit() and int(n) > 0 for n in a.steps.split(",")):
        p.error(f"--steps {a.steps!r}: give order counts separated by commas, e.g. 10000,1000000")
    if a.wave_orders < 1:
        p.error(f"--wave-orders {a.wave_orders}: give a positive number of orders")
    cfg = BenchConfig(contestants=names, quick=a.quick, rate=a.rate, write_csv=not (a.quick or a.no_csv),
                      wave_orders=a.wave_orders)
    if a.quick:
        cfg = replace(cfg, orders=QUICK_ORDERS, paced_seconds=6.0, stall_timeout_s=60.0)
    if a.orders:
        cfg = replace(cfg, orders=a.orders)
    if a.paced_seconds:
        cfg = replace(cfg, paced_seconds=a.paced_seconds)
    return a.mode, cfg, a


def _header(mode: str, cfg: BenchConfig) -> dict[str, Any]:
    return {"timestamp": timestamp(), "mode": mode, "machine": machine(), "git_commit": git_commit(),
            "config": {"orders": cfg.orders, "rate": cfg.rate, "paced_seconds": cfg.paced_seconds,
                       "first_step_delay_s": cfg.first_step_delay_s,
                       "step_gap_s": cfg.step_gap_s, "quick": cfg.quick, "contestants": list(cfg.contestants)}}


def _failures(results: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for name, r in results.get("contestants", {}).items():
        if r.get("check") != "ok":
            found.extend(f"{name}: {c}" for c in r.get("check", ["no result"]))
    found.extend(results.get("failures", []))
    return found


async def _run(mode: str, cfg: BenchConfig, a: argparse.Namespace) -> int:
    results = _header(mode, cfg)
    suffix = "-quick" if cfg.quick else ""
    with servers() as s:
        results["servers"] = await server_versions(s)
        say(f"bench {mode}: broker {s.bootstrap}, redis {s.redis_url} "
            f"({'embedded' if s.embedded else 'yours'}: {results['servers']['redis']}, broker "
            f"{results['servers']['broker']}); "
            f"worker logs in {s.log_dir}")
        if mode == "contest":
            results |= await run_contest(cfg, s, s.log_dir)
        elif mode == "scale":
            steps = [int(n) for n in a.steps.split(",")] if a.steps else scale_steps(a.max_orders, cfg.quick)
            results |= await run_scale(cfg, s, s.log_dir, steps)
        else:
            results |= await run_split(cfg, s, s.log_dir, a.workers)
    stamp = results["timestamp"]
    verdicts = judge_contest(results) if mode == "contest" else judge_scale(results) if mode == "scale" else []
    results["targets"] = as_json(verdicts)
    if mode == "contest":
        say("\n" + table(results))
        plot = plot_contest(results, write_json(results, stamp, suffix).with_suffix(".png"))
    elif mode == "scale":
        say("\n" + scale_table(results))
        plot = plot_scale(results, write_json(results, stamp, f"-scale{suffix}").with_suffix(".png"))
    else:
        say("\n" + split_table(results))
        plot = None
        write_json(results, stamp, f"-split{suffix}")
    if verdicts:
        say("\n" + render(verdicts))
    failures = _failures(results)
    say(f"\nresults: bench/results/{stamp}*.json" + (f", plot {plot.relative_to(plot.parents[2])}" if plot else ""))
    if mode == "contest" and cfg.write_csv and not failures:
        say(f"appended a row to {append_csv(results).name}")
    if failures:
        say("\nBENCH FAILED: the run cannot be trusted:\n  " + "\n  ".join(failures))
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    mode, cfg, a = parse(argv)
    return asyncio.run(_run(mode, cfg, a))


if __name__ == "__main__":
    sys.exit(main())
