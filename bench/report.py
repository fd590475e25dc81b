"""What a run leaves behind: a table on stdout, bench/results/<timestamp>.json, a row of bench/results.csv (the
history, kept in the repo) and a PNG plot of throughput and latency percentiles."""

from __future__ import annotations

import csv
import math
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.config import CONTESTANTS, RATIO_BASES, REPO, RESULTS_CSV, RESULTS_DIR

CSV_METRICS = ("events_per_s", "input_events_per_s", "cpu_us_per_event", "p50_ms", "p95_ms", "p99_ms", "peak_rss_mb")
CSV_COLUMNS = [
    "timestamp", "machine", "git_commit", "orders", "paced_rate",
    *(f"{c}_{m}" for c in CONTESTANTS for m in CSV_METRICS),
    "orchestrator_orders_per_s",
    *(f"orchestrator/{b}_{m}" for b in RATIO_BASES for m in ("events_per_s", "cpu_us_per_event", "p99_ms")),
]


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def machine() -> str:
    """Platform, CPU model and count: no host names, no paths."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = os.cpu_count() or 0
    return f"{platform.system()} {platform.machine()}, {model or platform.processor() or 'cpu'} x{cpus}, " \
           f"Python {platform.python_version()}"


def git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()
    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "orchestrator", "rulesets")
    return f"{commit}+dirty" if dirty else commit


def _fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def table(results: dict[str, Any]) -> str:
    head = f"{'contestant':<13}{'events/s':>10}{'input ev/s':>12}{'orders/s':>10}{'CPU µs/ev':>11}" \
           f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'RSS MB':>9}  check"
    lines = [head, "-" * len(head)]
    for name, r in results["contestants"].items():
        if "events" not in r:
            lines.append(f"{name:<13}FAILED: {r.get('error', '').splitlines()[0]}")
            continue
        lat = r["latency"]
        check = "ok" if r["check"] == "ok" else "FAILED"
        orders = _fmt(r["orders_per_s"]) if name == "orchestrator" else "-"
        lines.append(f"{name:<13}{_fmt(r['events_per_s']):>10}{_fmt(r['input_events_per_s']):>12}{orders:>10}"
                     f"{_fmt(r['cpu_us_per_event']):>11}{_fmt(lat['p50_ms'], ',.1f'):>9}"
                     f"{_fmt(lat['p95_ms'], ',.1f'):>9}{_fmt(lat['p99_ms'], ',.1f'):>9}"
                     f"{_fmt(r['peak_rss_mb'], ',.0f'):>9}  {check}")
    for pair, values in results["ratios"].items():
        shown = ", ".join(f"{k} {v:.2f}x" for k, v in values.items())
        lines.append(f"{pair}: {shown}")
    lines.append(f"paced rate: {_fmt(results['paced_rate'])} input events/s "
                 "(latency = publish -> the worker's record of the committed state)")
    return "\n".join(lines)


def write_json(results: dict[str, Any], stamp: str, suffix: str = "") -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{stamp}{suffix}.json"
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    return path


def csv_row(results: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"timestamp": results["timestamp"], "machine": results["machine"],
                           "git_commit": results["git_commit"], "orders": results["config"]["orders"],
                           "paced_rate": results["paced_rate"]}
    for name, r in results["contestants"].items():
        if "events" not in r:
            continue
        for m in CSV_METRICS:
            row[f"{name}_{m}"] = r["latency"][m] if m.endswith("_ms") else r[m]
        if name == "orchestrator":
            row["orchestrator_orders_per_s"] = r["orders_per_s"]
    for pair, values in results["ratios"].items():
        for m in ("events_per_s", "cpu_us_per_event", "p99_ms"):
            if m in values:
                row[f"{pair}_{m}"] = values[m]
    return row


def append_csv(results: dict[str, Any], path: Path = RESULTS_CSV) -> Path:
    """One row per run. The header is the file's own; columns it lacks (a contestant added since) are added at
    its end, the earlier rows blank there."""
    header, rows = _read_csv(path)
    columns = header + [c for c in CSV_COLUMNS if c not in header]
    rewrite = columns != header
    with path.open("w" if rewrite else "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        if rewrite:
            writer.writeheader()
            writer.writerows(rows)
        writer.writerow(csv_row(results))
    return path


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.exists():
        return [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows
