"""PNG plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"orchestrator": "#1f77b4", "limit": "#2ca02c", "broker": "#9467bd", "naive": "#d62728"}


def plot_contest(results: dict[str, Any], path: Path) -> Path:
    done = {n: r for n, r in results["contestants"].items() if "events" in r}
    names = list(done)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    bars = left.bar(names, [done[n]["events_per_s"] for n in names], color=[COLOURS.get(n, "grey") for n in names])
    left.bar_label(bars, fmt="{:,.0f}")
    left.set_title("throughput, preloaded (events consumed / s)")
    left.set_ylabel("events/s")
    width = 0.25
    for i, q in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        xs = [j + (i - 1) * width for j in range(len(names))]
        bars = right.bar(xs, [done[n]["latency"][q] for n in names], width, label=q.removesuffix("_ms"))
        right.bar_label(bars, fmt="{:,.0f}", fontsize=7)
    right.set_xticks(range(len(names)), names)
    right.set_yscale("log")
    right.set_ylabel("ms (log)")
    rate = results["paced_rate"]  # None when the orchestrator failed before its paced run
    right.set_title(f"latency at {rate:,.0f} input events/s: publish -> committed" if rate else "latency: no paced run")
    right.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"make bench {results['timestamp']}: {results['config']['orders']:,} orders, "
                 f"{results['git_commit']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_scale(results: dict[str, Any], path: Path) -> Path:
    steps = results["steps"]
    orders = [s["orders"] for s in steps]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.plot(orders, [s["peak_rss_mb"] for s in steps], marker="o")
    left.set_xscale("log")
    left.set_xlabel("distinct orders")
    left.set_ylabel("worker peak RSS (MB)")
    left.set_title("worker memory")
    right.plot(orders, [s["redis_bytes_per_order"] for s in steps], marker="o", label="right after the run")
    expired = [(s["orders"], s["redis_bytes_per_order_after_retention"]) for s in steps
               if "redis_bytes_per_order_after_retention" in s]
    if expired:
        right.plot(*zip(*expired, strict=True), marker="s", label="once the audit retention ran out")
        right.legend()
    right.set_xscale("log")
    right.set_xlabel("distinct orders")
    right.set_ylabel("bytes per completed order")
    right.set_title("Redis memory per completed order")
    fig.suptitle(f"make bench-scale {results['timestamp']} ({results['git_commit']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
