"""`make bench` says, target by target, whether the run met it, and why a target it cannot judge is not."""

from __future__ import annotations

from typing import Any

from bench.contest import ratios
from bench.targets import as_json, judge_contest, judge_scale, render


def _contestant(events_per_s: float, p99_ms: float, cpu_us: float = 50.0) -> dict[str, Any]:
    return {"events": 100, "events_per_s": events_per_s, "input_events_per_s": events_per_s / 2,
            "cpu_us_per_event": cpu_us, "peak_rss_mb": 100.0,
            "latency": {"p50_ms": p99_ms / 4, "p95_ms": p99_ms / 2, "p99_ms": p99_ms}}


def _contest(rate: float | None = None, orders: int = 20_000, **contestants: dict[str, Any]) -> dict[str, Any]:
    return {"config": {"rate": rate, "orders": orders}, "paced_rate": 1_500, "contestants": contestants,
            "ratios": ratios(contestants)}


def _by_target(verdicts: list[Any]) -> dict[str, Any]:
    return {v.target.split(" ")[0] + ("-naive" if "naive" in v.target else ""): v for v in verdicts}


def test_a_contest_is_judged_on_the_ratios_the_paced_p99_and_the_cpu_per_event() -> None:
    run = _contest(orchestrator=_contestant(8_000, 40, cpu_us=60), limit=_contestant(20_000, 50),
                   broker=_contestant(40_000, 20), naive=_contestant(1_000, 4_000))
    verdicts = _by_target(judge_contest(run))
    assert (verdicts["events/s"].measured, verdicts["events/s"].met) == ("0.40x", False)
    assert (verdicts["events/s-naive"].measured, verdicts["events/s-naive"].met) == ("8.00x", False)
    assert verdicts["events/s-naive"].note == "the limit itself is 20.0x naive in this run"
    assert (verdicts["p99"].met, verdicts["p99"].note) == (False, "the broker alone: 20 ms")
    assert (verdicts["worker"].measured, verdicts["worker"].met) == ("60 µs", True)


def test_targets_within_their_bounds_are_met() -> None:
    run = _contest(orchestrator=_contestant(15_000, 20), limit=_contestant(20_000, 30),
                   naive=_contestant(1_000, 4_000))
    assert all(v.met for v in judge_contest(run))


def test_what_the_run_cannot_judge_is_said_with_the_reason() -> None:
    run = _contest(rate=3_000, orchestrator=_contestant(8_000, 10), limit=_contestant(20_000, 50))
    verdicts = _by_target(judge_contest(run))
    assert (verdicts["events/s-naive"].met, verdicts["events/s-naive"].note) == (
        None, "the naive contestant did not run")
    assert verdicts["p99"].met is None and "--rate" in verdicts["p99"].note


def test_a_small_run_shows_its_figures_but_judges_nothing() -> None:
    run = _contest(orders=500, orchestrator=_contestant(15_000, 20), limit=_contestant(16_000, 30))
    verdicts = judge_contest(run)
    assert verdicts[0].measured == "0.94x"
    assert {(v.met, v.note) for v in verdicts} == {
        (None, "a run of 500 orders; the targets are judged on 20,000 or more")}


def _step(orders: int, rss_mb: float, kept_bytes: int | None) -> dict[str, Any]:
    step = {"orders": orders, "peak_rss_mb": rss_mb, "redis_bytes_per_order": 2_500}
    if kept_bytes is not None:
        step["redis_bytes_per_order_after_retention"] = kept_bytes
    return step


def test_a_scale_run_to_a_million_orders_judges_rss_and_redis_bytes() -> None:
    met = judge_scale({"steps": [_step(10_000, 124, 1_823), _step(1_000_000, 133, 1_780)]})
    assert [v.met for v in met] == [True, True]
    assert met[0].measured == "124 MB → 133 MB (10,000 → 1,000,000 orders)"
    missed = judge_scale({"steps": [_step(10_000, 124, 1_823), _step(1_000_000, 260, 2_100)]})
    assert [v.met for v in missed] == [False, False]


def test_a_shorter_scale_run_or_one_without_a_short_retention_is_not_judged() -> None:
    short = judge_scale({"steps": [_step(10_000, 124, 1_823), _step(100_000, 126, 1_760)]})
    assert [v.met for v in short] == [None, None] and "--steps 10000,1000000" in short[0].note
    retained = judge_scale({"steps": [_step(1_000_000, 133, None)]})
    assert retained[1].met is None and "ORCH_AUDIT_RETENTION_S" in retained[1].note


def test_the_verdicts_are_printed_one_per_line_and_kept_in_the_json() -> None:
    run = _contest(rate=3_000, orchestrator=_contestant(8_000, 40, cpu_us=60), limit=_contestant(20_000, 50))
    verdicts = judge_contest(run)
    lines = render(verdicts).splitlines()
    assert lines[0] == "targets:" and len(lines) == 1 + len(verdicts)
    assert lines[1].endswith("0.40x: NOT MET") and "not judged" in lines[3] and lines[4].endswith(": met")
    assert as_json(verdicts)[0] == {"target": "events/s ≥ 0.7x the limit's", "measured": "0.40x", "met": False,
                                    "note": ""}
