"""Configuration by environment (``ORCH_*``), with defaults that match the embedded `make run` stack."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCH_", extra="ignore")

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,…]")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis holding state and audit")
    rulesets: Path = Field(default=Path("./rulesets"), description="Directory of workflow files")
    topic_prefix: str = Field(default="orchestrator", description="Topics are {prefix}.events|audit|dlq|webhooks")
    http_port: int = Field(default=6066, description="Worker HTTP port (GET /health)")
    http_host: str = Field(default="0.0.0.0", description="Worker HTTP bind address")
    api_url: str = Field(
        default="", description="A worker's HTTP API, for `send --sync`; default http://127.0.0.1:{http_port}")
    partitions: int = Field(default=8, ge=1, description="Partitions of the events topic when it is created")
    consumer_group: str = Field(default="orchestrator", description="Kafka consumer group of the workers")
    session_timeout_s: float = Field(
        default=10.0, gt=0, description="Consumer-group session timeout; a dead worker's partitions move after it"
    )
    batch_size: int = Field(default=500, ge=1, description="Most events processed in one batch")
    batch_wait_ms: int = Field(default=10, ge=0, description="Longest wait to fill a batch")
    commit_interval_ms: int = Field(
        default=200, ge=0,
        description="Least time between two offset commits of the events consumer (0: after every batch). A crash "
        "redelivers what was processed since the last commit; those events are recognised as duplicates")
    fetch_wait_ms: int = Field(
        default=10, ge=1, description="Longest a fetch waits at the broker for data (a floor under latency)"
    )
    fetch_partition_bytes: int = Field(
        default=1 << 20, ge=1024,
        description="Most bytes one fetch returns per partition (Kafka honours it; the embedded Tansu does not, and "
        "fetch_max_bytes bounds the worker's memory there)")
    fetch_max_bytes: int = Field(
        default=1 << 20, ge=1024,
        description="Most bytes one fetch returns in all (a batch larger than this still comes whole). The consumer "
        "holds up to one fetch per partition until it is processed: with a deep backlog, the worker's memory")
    key_prefix: str = Field(default="orch", description="Prefix of every Redis key")
    redis_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait for Redis to answer one call (a batch's pipeline included)")
    audit_maxlen: int = Field(default=1000, ge=1, description="Audit entries (one per event) kept per entity")
    audit_retention_s: int = Field(
        default=7 * 24 * 3600, ge=0,
        description="How long an entity's audit stays in Redis after its last event (0: until trimmed by maxlen)",
    )
    dedup_ttl_s: int = Field(default=7 * 24 * 3600, ge=1, description="How long applied event ids are remembered")
    max_inline_depth: int = Field(default=20, ge=1, description="Bound on inline events sent to the same entity")
    same_root_rounds: int = Field(
        default=8, ge=0, description="Generations of events sent to another entity of the same root that run in "
        "the batch that sent them, without a trip through Kafka (0: every such event goes through Kafka)")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    framework_log_level: str = Field(default="WARNING", description="Log level of Faust and aiokafka")
    webhook_secret: SecretStr | None = Field(
        default=None, description="Signing secret of Webhook rules that name ORCH_WEBHOOK_SECRET (their default); "
        "a rule's secretEnv may name another variable")
    webhook_max_attempts: int = Field(default=6, ge=1, description="Most POSTs of one webhook call (first + retries)")
    webhook_backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles per retry, jittered")
    webhook_backoff_max_s: float = Field(
        default=60.0, ge=0, description="Longest wait between attempts; a longer Retry-After ends the retries")
    webhook_timeout_s: float = Field(default=5.0, gt=0, description="Time limit of one webhook POST")
    webhook_concurrency: int = Field(default=16, ge=1, description="Webhook calls in flight per worker")
    data_dir: Path = Field(
        default=Path(".orchestrator"),
        description="Where `orchestrator dev` keeps its servers' logs, and the worker its Faust directory")

    @property
    def api_base_url(self) -> str:
        return (self.api_url or f"http://127.0.0.1:{self.http_port}").rstrip("/")

    @property
    def events_topic(self) -> str:
        return f"{self.topic_prefix}.events"

    @property
    def audit_topic(self) -> str:
        return f"{self.topic_prefix}.audit"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic_prefix}.dlq"

    @property
    def webhooks_topic(self) -> str:
        return f"{self.topic_prefix}.webhooks"

    @property
    def topics(self) -> tuple[str, str, str, str]:
        return (self.events_topic, self.audit_topic, self.dlq_topic, self.webhooks_topic)


def explain_invalid(exc: ValidationError) -> str:
    """A refused configuration, per environment variable: which one, the value given, what it must be (a
    secret's value is not repeated)."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        given = "" if "secret" in field else f"={error.get('input')!r}"
        problems.append(f"ORCH_{field.upper()}{given}: {error['msg'].lower()}")
    return ("invalid configuration: " + "; ".join(problems)
            + ". Fix or unset the variable (the README's Configuration table lists each one and its default)")
