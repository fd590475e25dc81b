"""One contestant's run: preloaded phases (throughput, CPU, RSS), then a paced run (latency), then the check.

Each preloaded phase puts its events on the topic first and only then starts the contestant's worker, so the
worker finds a backlog and the harness's producer does not compete with it for the CPU. The clock runs from
the worker's first output (its first batch) to the moment the group's committed offsets reach the end of
the events topic; CPU is the worker's user + system time over the same interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import EVENTS_PER_ORDER, BenchConfig, Namespace
from bench.contestants.specs import Spec
from bench.load import Message, paced_schedule, preload, publish_paced
from bench.proc import WorkerProc
from bench.stack import Offsets, Servers, first_timestamp, not_committed, offsets, read_records
from bench.stats import percentile, percentiles

POLL_S = 0.1
PROGRESS_S = 2.0


class BenchFailure(RuntimeError):
    """The run cannot be trusted (a worker died, stalled, or an order did not complete): fail loudly."""


@dataclass
class Phase:
    name: str
    events: int  # events the worker ran in this phase (consumed, or sent and run in the same batch)
    wall_s: float
    cpu_s: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class Paced:
    rate: float
    published: int
    latencies_ms: dict[str, float] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    missing: int = 0
    duplicates: int = 0
    drain_s: float = 0.0  # from the last publish until the group had committed everything

    def windows(self, seconds: float = 5.0) -> list[dict[str, float]]:
        """p50/p99 by publish time, ``seconds`` at a time: a worker that does not keep up shows a rising line."""
        if not self.sent_at:
            return []
        first = min(self.sent_at.values())
        buckets: dict[int, list[float]] = {}
        for event_id, latency in self.latencies_ms.items():
            buckets.setdefault(int((self.sent_at[event_id] - first) // seconds), []).append(latency)
        return [{"from_s": b * seconds, "events": len(v), "p50_ms": round(percentile(sorted(v), 50), 1),
                 "p99_ms": round(percentile(sorted(v), 99), 1)} for b, v in sorted(buckets.items())]


def say(text: str) -> None:
    print(text, flush=True)


class ContestantRun:
    def __init__(self, spec: Spec, servers: Servers, cfg: BenchConfig, log_dir: Path,
                 ns: Namespace | None = None) -> None:
        self.spec, self.servers, self.cfg, self.log_dir = spec, servers, cfg, log_dir
        self.ns = ns or Namespace()
        self.phases: list[Phase] = []
        self.peak_rss = 0
        self.worker: WorkerProc | None = None
        self._starts = 0

    @property
    def output_topic(self) -> str:
        return self.spec.output_topic(self.ns)

    def start_worker(self) -> WorkerProc:
        self._starts += 1
        argv, env = self.spec.command(self.servers, self.ns)
        log = self.log_dir / f"{self.spec.name}-{self.ns.prefix}-{self._starts}.log"
        self.worker = WorkerProc(self.spec.name, argv, env, log).start()
        return self.worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.peak_rss = max(self.peak_rss, self.worker.read_peak_rss())
            self.worker.stop()
            self.worker = None

    async def preloaded_phase(self, off: Offsets, name: str, messages: Iterable[Message], *,
                              keep_running: bool = False) -> Phase:
        before = sum((await off.committed(self.ns.events_topic)).values())
        t0 = time.monotonic()
        sent = await preload(self.servers.bootstrap, self.ns.events_topic, messages)
        say(f"{self.spec.name} {name}: {sent:,} events preloaded in {time.monotonic() - t0:.1f}s; starting the worker")
        expected = before + sent * self.spec.consumed_per_input
        since = time.time()
        worker = self.start_worker()
        end = await self.wait_drained(off, name, before, expected)
        start = await first_timestamp(self.servers.bootstrap, self.output_topic, since)
        if start is None or start > end:
            raise BenchFailure(f"{self.spec.name} {name}: no output on {self.output_topic}")
        phase = Phase(name, sent * self.spec.events_per_input, end - start, worker.cpu_at(end) - worker.cpu_at(start))
        self.phases.append(phase)
        say(f"{self.spec.name} {name}: {phase.events:,} events in {phase.wall_s:.2f}s = {phase.events_per_s:,.0f}/s, "
            f"{phase.cpu_s / max(phase.events, 1) * 1e6:,.0f} µs CPU/event")
        if not keep_running:
            self.stop_worker()
        return phase

    async def wait_drained(self, off: Offsets, label: str, before: int, expected: int) -> float:
        """Until the group's committed offsets add up to ``expected``; returns when (epoch seconds). The count is
        known exactly (``Spec.consumed_per_input``: the orchestrator runs the event each input event sends in
        the same batch), and the broker's end offsets are not relied on (see :func:`bench.stack.read_records`)."""
        last_value, last_change = -1, time.monotonic()
        next_report, last_report, reported = time.monotonic() + PROGRESS_S, time.monotonic(), before
        while True:
            committed = sum((await off.committed(self.ns.events_topic)).values())
            now = time.monotonic()
            if committed >= expected:
                return time.time()
            if committed != last_value:
                last_value, last_change = committed, now
            self._check_alive(label)
            if now - last_change > self.cfg.stall_timeout_s:
                raise BenchFailure(f"{self.spec.name} {label}: no progress for {self.cfg.stall_timeout_s:g}s at "
                                   f"{committed - before:,}/{expected - before:,} events; "
                                   f"{await self._stall_cause(off)}\n{self._tail()}")
            if now >= next_report:
                rate = (committed - reported) / (now - last_report)
                state = f"({rate:,.0f}/s)" if committed > before else "(the worker is joining the group)"
                say(f"{self.spec.name} {label}: {committed - before:,}/{expected - before:,} events {state}")
                next_report, last_report, reported = now + PROGRESS_S, now, committed
            await asyncio.sleep(POLL_S)

    async def _stall_cause(self, off: Offsets) -> str:
        topic = self.ns.events_topic
        behind = await not_committed(self.servers.bootstrap, topic, await off.committed(topic))
        if behind:
            where = ", ".join(f"partition {p}: {n:,}" for p, n in behind.items())
            return f"events on {topic} not committed by the group ({where})"
        return (f"the group committed every event on {topic}, so fewer follow-up events were sent than expected: "
                "an event matched no ruleset, or was skipped without being processed")

    def _check_alive(self, label: str) -> None:
        if self.worker is not None and not self.worker.running:
            raise BenchFailure(f"{self.spec.name} {label}: the worker exited\n{self._tail()}")

    def _tail(self) -> str:
        return f"--- {self.worker.log_path}:\n{self.worker.tail()}" if self.worker else ""

    async def paced_phase(self, off: Offsets, refs: list[str], rate: float) -> Paced:
        """Publish at ``rate`` events/s to the running worker; latency = publish -> committed-state record."""
        plan = paced_schedule(refs, rate, self.cfg.first_step_delay_s, self.cfg.step_gap_s)
        before = sum((await off.committed(self.ns.events_topic)).values())
        since = time.time()
        total = len(plan)

        def progress(done: int, elapsed: float) -> None:
            say(f"{self.spec.name} paced: {done:,}/{total:,} events published at {rate:,.0f}/s ({elapsed:.0f}s)")

        publisher = asyncio.create_task(publish_paced(self.servers.bootstrap, self.ns.events_topic, plan, progress))
        while not publisher.done():
            self._check_alive("paced")
            await asyncio.sleep(0.5)
        published = publisher.result()
        last_publish = time.time()
        drained = await self.wait_drained(off, "paced", before, before + total * self.spec.consumed_per_input)
        paced = await self._latencies(rate, published, since)
        paced.drain_s = drained - last_publish
        trend = " ".join(f"{w['p50_ms']:,.0f}" for w in paced.windows())
        say(f"{self.spec.name} paced: p50 ms per 5 s of publishing: {trend}; drained {paced.drain_s:.1f}s after "
            "the last publish")
        return paced

    async def _latencies(self, rate: float, published: dict[str, float], since: float) -> Paced:
        paced = Paced(rate, len(published), sent_at=published)
        async for record in read_records(self.servers.bootstrap, self.output_topic, since):
            for event_id in self.spec.committed_events(record.value or b""):
                sent_at = published.get(event_id)
                if sent_at is None:
                    continue
                if event_id in paced.latencies_ms:
                    paced.duplicates += 1
                    continue
                paced.latencies_ms[event_id] = max(0.0, record.timestamp - sent_at * 1000)
        paced.missing = len(published) - len(paced.latencies_ms)
        return paced


def paced_orders(rate: float, seconds: float) -> int:
    return max(1, round(rate * seconds / EVENTS_PER_ORDER))


def summarize_paced(paced: Paced) -> dict[str, float]:
    return percentiles(list(paced.latencies_ms.values()))


__all__ = ["BenchFailure", "ContestantRun", "Paced", "Phase", "offsets", "paced_orders", "say", "summarize_paced"]
