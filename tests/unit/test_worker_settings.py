"""Settings that reach the events consumer."""

from __future__ import annotations

from orchestrator.app.consumer import consumer_options
from orchestrator.app.settings import Settings


def test_the_fetch_size_per_partition_is_the_consumers() -> None:
    assert consumer_options(Settings(fetch_partition_bytes=128 * 1024))["max_partition_fetch_bytes"] == 128 * 1024


def test_the_default_fetch_size_is_one_mebibyte_per_partition() -> None:
    assert consumer_options(Settings())["max_partition_fetch_bytes"] == 1 << 20


def test_a_fetch_holds_at_most_one_mebibyte_in_all_unless_configured() -> None:
    assert consumer_options(Settings())["fetch_max_bytes"] == 1 << 20
    assert consumer_options(Settings(fetch_max_bytes=4 << 20))["fetch_max_bytes"] == 4 << 20


def test_offsets_are_committed_by_the_worker_not_on_a_timer() -> None:
    assert consumer_options(Settings())["enable_auto_commit"] is False


def test_a_batch_is_at_most_the_batch_size_and_a_fetch_waits_at_most_the_fetch_wait() -> None:
    options = consumer_options(Settings(batch_size=123, fetch_wait_ms=7))
    assert (options["max_poll_records"], options["fetch_max_wait_ms"]) == (123, 7)
