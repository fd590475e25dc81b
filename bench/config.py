"""What a run is configured with, and the names a contestant's run lives under (topics, Redis keys, group)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
RESULTS_CSV = REPO / "bench" / "results.csv"
RULESETS = REPO / "rulesets"
RETAILER = "1"
PARTITIONS = 8
# What the warehouse reports for a fulfilment, in order (FULFILMENT::HD); each tells the order (ORDER::HD).
FULFILMENT_STEPS = ("Picking", "Packed", "CourierBooked", "Shipped", "Delivered")
EVENTS_PER_ORDER = 1 + len(FULFILMENT_STEPS)  # the input per order: CREATE + the warehouse's five steps
ORDER_FINAL_VERSION = 6  # CREATE + five notifications from the fulfilment (CompleteOrder runs inline)
FULFILMENT_FINAL_VERSION = 6  # CreateFulfilment + the five warehouse steps
CONTESTANTS = ("orchestrator", "limit", "broker", "naive")
RATIO_BASES = ("limit", "broker", "naive")  # the orchestrator is set against each


def env_batch_size() -> int:
    """The batch size every batching contestant uses: the worker's own ORCH_BATCH_SIZE (default 500)."""
    return int(os.environ.get("ORCH_BATCH_SIZE", "500"))


@dataclass(frozen=True)
class BenchConfig:
    orders: int = 20_000
    rate: float | None = None  # paced input events/s; None: half the orchestrator's preloaded capacity
    paced_seconds: float = 30.0
    # paced run: an order's first warehouse step comes this long after its CREATE (the orchestrator must have
    # appended CreateFulfilment to the partition first, or the step finds no fulfilment), then one per step_gap_s
    first_step_delay_s: float = 5.0
    step_gap_s: float = 1.0
    contestants: tuple[str, ...] = CONTESTANTS
    quick: bool = False
    stall_timeout_s: float = 90.0  # no progress for this long fails the run
    write_csv: bool = True
    # scale mode: a step of more orders runs in waves of this many, each on topics of its own, deleted after
    # it; the embedded broker keeps every record in memory (about 20 KB of events and audit per order)
    wave_orders: int = 100_000

    @property
    def label(self) -> str:
        return "quick" if self.quick else "full"


class TopicNames:
    """The topics of a run's ``prefix``: the harness's view and the contestants' own share them."""

    prefix: str

    @property
    def events_topic(self) -> str:
        return f"{self.prefix}.events"

    @property
    def audit_topic(self) -> str:
        return f"{self.prefix}.audit"

    @property
    def sink_topic(self) -> str:
        """Where the limit and naive contestants send their one output event per input event."""
        return f"{self.prefix}.sink"


@dataclass(frozen=True)
class Namespace(TopicNames):
    """One contestant run's private slice of the shared broker and Redis."""

    prefix: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    keys: str = ""  # the Redis key prefix when it differs from the topics' (runs that share one keyspace)

    @property
    def topics(self) -> list[str]:
        return [f"{self.prefix}.{t}" for t in ("events", "audit", "dlq", "webhooks", "sink")]

    @property
    def key_prefix(self) -> str:
        return self.keys or self.prefix

    @property
    def group(self) -> str:
        return f"{self.prefix}-group"
