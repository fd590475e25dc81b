"""The benchmark's history and ratios: what `make bench` leaves for the next reader."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bench.contest import ratios
from bench.contestants.broker import echo
from bench.report import CSV_COLUMNS, append_csv


def _contestant(events_per_s: float, p99: float) -> dict[str, Any]:
    return {"events": 100, "events_per_s": events_per_s, "input_events_per_s": events_per_s / 2,
            "cpu_us_per_event": 50.0, "peak_rss_mb": 100.0, "orders_per_s": 10.0,
            "latency": {"p50_ms": p99 / 4, "p95_ms": p99 / 2, "p99_ms": p99}}


def _results() -> dict[str, Any]:
    contestants = {"orchestrator": _contestant(8_000, 40), "limit": _contestant(20_000, 50),
                   "broker": _contestant(40_000, 20), "naive": _contestant(1_000, 4_000)}
    return {"timestamp": "20261122T010000Z", "machine": "test", "git_commit": "abc", "config": {"orders": 10},
            "paced_rate": 1_000, "contestants": contestants, "ratios": ratios(contestants)}


def test_ratios_set_the_orchestrator_against_the_limit_the_broker_alone_and_the_naive_agent() -> None:
    r = ratios(_results()["contestants"])
    assert r["orchestrator/limit"]["events_per_s"] == 0.4
    assert r["orchestrator/broker"]["p99_ms"] == 2.0
    assert r["orchestrator/naive"]["events_per_s"] == 8.0


def test_a_history_without_the_broker_columns_gains_them_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    old_header = [c for c in CSV_COLUMNS if "broker" not in c]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=old_header)
        writer.writeheader()
        writer.writerow({"timestamp": "20261121T000000Z", "orchestrator_events_per_s": "5000"})
    append_csv(_results(), path)
    append_csv(_results(), path)
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    assert header[:len(old_header)] == old_header and set(header) == set(CSV_COLUMNS)
    assert [r["timestamp"] for r in rows] == ["20261121T000000Z", "20261122T010000Z", "20261122T010000Z"]
    assert rows[0]["orchestrator_events_per_s"] == "5000" and rows[0]["broker_p99_ms"] == ""
    assert rows[2]["broker_p99_ms"] == "20" and rows[2]["orchestrator/broker_p99_ms"] == "2.0"


def test_the_broker_contestant_echoes_the_id_the_latency_read_back_looks_for() -> None:
    assert echo(b'{"id": "O-1:CREATE", "name": "CREATE"}') == b'{"eventId":"O-1:CREATE"}'
