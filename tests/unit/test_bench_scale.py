"""The scale mode's waves: how a million orders fit a broker that keeps every record in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import Namespace
from bench.contestants.specs import orchestrator_command
from bench.run import BenchFailure
from bench.scale import refuse_unbounded_audit, waves
from bench.stack import Servers

EMBEDDED = Servers("127.0.0.1:9092", "redis://127.0.0.1:6379/0", embedded=True, log_dir=Path("logs"))


def test_waves_run_every_order_once_in_order_none_larger_than_asked() -> None:
    refs = [f"O-{i}" for i in range(250)]
    parts = waves(refs, 100)
    assert [len(p) for p in parts] == [100, 100, 50]
    assert [ref for part in parts for ref in part] == refs


def test_a_wave_worker_reads_its_own_topics_and_writes_the_steps_keyspace() -> None:
    shared = Namespace()
    first, second = Namespace(keys=shared.key_prefix), Namespace(keys=shared.key_prefix)
    envs = [orchestrator_command(EMBEDDED, ns)[1] for ns in (first, second)]
    assert {env["ORCH_KEY_PREFIX"] for env in envs} == {shared.key_prefix}
    assert envs[0]["ORCH_TOPIC_PREFIX"] != envs[1]["ORCH_TOPIC_PREFIX"]
    assert envs[0]["ORCH_CONSUMER_GROUP"] != envs[1]["ORCH_CONSUMER_GROUP"]


def test_a_step_beyond_one_wave_without_a_short_audit_retention_is_refused_with_the_fix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCH_AUDIT_RETENTION_S", raising=False)
    with pytest.raises(BenchFailure, match="ORCH_AUDIT_RETENTION_S") as refused:
        refuse_unbounded_audit(EMBEDDED, 1_000_000, 100_000)
    assert "25.0 GB" in str(refused.value)


def test_one_wave_your_own_servers_or_a_short_retention_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCH_AUDIT_RETENTION_S", raising=False)
    refuse_unbounded_audit(EMBEDDED, 100_000, 100_000)
    refuse_unbounded_audit(Servers("kafka:9092", "redis://redis:6379/0", embedded=False, log_dir=Path("logs")),
                           1_000_000, 100_000)
    monkeypatch.setenv("ORCH_AUDIT_RETENTION_S", "2")
    refuse_unbounded_audit(EMBEDDED, 1_000_000, 100_000)
