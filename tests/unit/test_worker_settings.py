"""Settings that reach the events consumer, and their documentation."""

from __future__ import annotations

from pathlib import Path

from orchestrator.app.consumer import consumer_options
from orchestrator.app.settings import Settings


def test_the_fetch_size_per_partition_is_the_consumers() -> None:
    assert consumer_options(Settings(fetch_partition_bytes=128 * 1024))["max_partition_fetch_bytes"] == 128 * 1024


def test_the_default_fetch_size_is_one_mebibyte_per_partition() -> None:
    assert consumer_options(Settings())["max_partition_fetch_bytes"] == 1 << 20


def test_a_fetch_holds_at_most_one_mebibyte_in_all_unless_configured() -> None:
    assert consumer_options(Settings())["fetch_max_bytes"] == 1 << 20
    assert consumer_options(Settings(fetch_max_bytes=4 << 20))["fetch_max_bytes"] == 4 << 20


def test_offsets_are_committed_by_the_worker_after_the_relay_not_by_aiokafkas_own_timer() -> None:
    assert consumer_options(Settings())["enable_auto_commit"] is False


def test_a_batch_is_at_most_the_batch_size_and_a_fetch_waits_at_most_the_fetch_wait() -> None:
    options = consumer_options(Settings(batch_size=123, fetch_wait_ms=7))
    assert (options["max_poll_records"], options["fetch_max_wait_ms"]) == (123, 7)


def test_every_setting_is_in_the_readmes_configuration_table() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `ORCH_")]
    missing = [f"ORCH_{name.upper()}" for name in Settings.model_fields
               if not any(f"`ORCH_{name.upper()}`" in row for row in rows)]
    assert missing == []
