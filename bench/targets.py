"""The project's performance targets, judged on a run: what each asks, what the run measured, met or not.

A contest run judges the throughput ratios, the paced p99 and the worker's CPU per event; a scale run judges
the worker's RSS and the Redis bytes a completed order keeps. The engine's micro-benchmark has its own
(`make bench-micro`). A target the run has no figure for (a run of fewer than 20,000 orders, a contestant
left out, a rate given by hand, no short audit retention) is shown as not judged, with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from bench.config import BenchConfig
from bench.scale import FULL_STEPS

MIN_LIMIT_RATIO = 0.7
MIN_NAIVE_RATIO = 12.0
MAX_P99_MS = 25.0
MAX_CPU_US_PER_EVENT = 70.0
MAX_WORKER_RSS_MB = 250.0
MAX_REDIS_BYTES_PER_ORDER = 2_000
FULL_SCALE_ORDERS = FULL_STEPS[-1]  # the scale mode's full setting
MIN_CONTEST_ORDERS = BenchConfig.orders  # the load the targets were set for: make bench's
OTHERS = {"limit": "limit", "naive": "naive agent"}


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: not judged by this run (``note`` says why)
    note: str = ""


def judge_contest(results: dict[str, Any]) -> list[Verdict]:
    contestants = results["contestants"]
    orch = contestants.get("orchestrator", {})
    if "events" not in orch:
        return []
    verdicts = [
        _ratio_verdict(results, "limit", MIN_LIMIT_RATIO),
        _ratio_verdict(results, "naive", MIN_NAIVE_RATIO),
        _p99_verdict(results, orch),
        Verdict(f"worker CPU ≤ {MAX_CPU_US_PER_EVENT:.0f} µs per event", f"{orch['cpu_us_per_event']:,.0f} µs",
                orch["cpu_us_per_event"] <= MAX_CPU_US_PER_EVENT),
    ]
    orders = results.get("config", {}).get("orders", MIN_CONTEST_ORDERS)
    if orders < MIN_CONTEST_ORDERS:  # start-up and the first batches weigh too much in a small run
        small = f"a run of {orders:,} orders; the targets are judged on {MIN_CONTEST_ORDERS:,} or more"
        return [replace(v, met=None, note=small) for v in verdicts]
    return verdicts


def _ratio_verdict(results: dict[str, Any], other: str, least: float) -> Verdict:
    target = f"events/s ≥ {least:g}x the {OTHERS[other]}'s"
    ratio = results["ratios"].get(f"orchestrator/{other}", {}).get("events_per_s")
    if ratio is None:
        return Verdict(target, "-", None, f"the {other} contestant did not run")
    note = ""
    limit, naive = results["contestants"].get("limit", {}), results["contestants"].get("naive", {})
    if other == "naive" and "events" in limit and "events" in naive:
        note = f"the limit itself is {limit['events_per_s'] / naive['events_per_s']:.1f}x naive in this run"
    return Verdict(target, f"{ratio:.2f}x", ratio >= least, note)


def _p99_verdict(results: dict[str, Any], orch: dict[str, Any]) -> Verdict:
    target = f"p99 ≤ {MAX_P99_MS:.0f} ms at half the orchestrator's maximum"
    measured = f"{orch['latency']['p99_ms']:,.0f} ms at {results['paced_rate']:,.0f} input events/s"
    if results.get("config", {}).get("rate") is not None:
        return Verdict(target, measured, None, "the paced rate was given by hand (--rate), not half the maximum")
    broker = results["contestants"].get("broker", {})
    note = f"the broker alone: {broker['latency']['p99_ms']:,.0f} ms" if "events" in broker else ""
    return Verdict(target, measured, orch["latency"]["p99_ms"] <= MAX_P99_MS, note)


def judge_scale(results: dict[str, Any]) -> list[Verdict]:
    steps = [s for s in results["steps"] if "peak_rss_mb" in s]
    if not steps:
        return []
    short = steps[-1]["orders"] < FULL_SCALE_ORDERS
    reach = f"the run went to {steps[-1]['orders']:,} orders, the target to {FULL_SCALE_ORDERS:,}: " \
            "--steps 10000,1000000" if short else ""
    rss = [s["peak_rss_mb"] for s in steps]
    verdicts = [Verdict(f"worker RSS ≤ {MAX_WORKER_RSS_MB:.0f} MB from 10k to 1M orders",
                        " → ".join(f"{mb:,.0f} MB" for mb in rss) + f" ({_orders(steps)})",
                        None if short else max(rss) <= MAX_WORKER_RSS_MB, reach)]
    expired = [s.get("redis_bytes_per_order_after_retention") for s in steps]
    target = f"Redis ≤ {MAX_REDIS_BYTES_PER_ORDER:,} bytes per completed order with audit retention"
    if None in expired:
        verdicts.append(Verdict(target, " → ".join(f"{s['redis_bytes_per_order']:,} B" for s in steps), None,
                                "the audit was still retained; run with ORCH_AUDIT_RETENTION_S=2 to measure what "
                                "an order keeps once it expires"))
    else:
        kept = max(b for b in expired if b is not None)
        verdicts.append(Verdict(target, " → ".join(f"{b:,} B" for b in expired),
                                None if short else kept <= MAX_REDIS_BYTES_PER_ORDER, reach))
    return verdicts


def _orders(steps: list[dict[str, Any]]) -> str:
    return " → ".join(f"{s['orders']:,}" for s in steps) + " orders"


def render(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return ""
    width = max(len(v.target) for v in verdicts)
    lines = ["targets:"]
    for v in verdicts:
        state = "not judged" if v.met is None else ("met" if v.met else "NOT MET")
        note = f"  ({v.note})" if v.note else ""
        lines.append(f"  {v.target:<{width}}  {v.measured}: {state}{note}")
    return "\n".join(lines)


def as_json(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    return [asdict(v) for v in verdicts]
