"""Settings that reach Faust's consumer."""

from __future__ import annotations

from pathlib import Path

from orchestrator.app.settings import Settings
from orchestrator.app.worker import create_app

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"


def test_the_fetch_size_per_partition_is_the_consumers() -> None:
    app = create_app(Settings(rulesets=RULESETS, fetch_partition_bytes=128 * 1024))
    assert app.conf.consumer_max_fetch_size == 128 * 1024


def test_the_default_fetch_size_is_one_mebibyte_per_partition() -> None:
    assert create_app(Settings(rulesets=RULESETS)).conf.consumer_max_fetch_size == 1 << 20
