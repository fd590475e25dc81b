"""The worker: consumes ``{prefix}.events`` in batches (app/consumer.py) and hands each to the processor;
Faust runs the rest (HTTP API, webhook agent, lifecycle).

Scale out by starting more workers with the same ``ORCH_CONSUMER_GROUP``: Kafka splits the partitions,
and since events are keyed by root entity, each entity's events stay in one worker, in order.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust
import mode
import structlog

from orchestrator.adapters.kafka_publisher import KafkaPublisher
from orchestrator.adapters.redis_store import RedisStore
from orchestrator.app.api import install_api
from orchestrator.app.codec import Incoming
from orchestrator.app.consumer import EventConsumer
from orchestrator.app.faust_tuning import set_fetch_max_wait
from orchestrator.app.processor import Applied, BatchProcessor
from orchestrator.app.settings import Settings
from orchestrator.app.webhooks import install_webhook_agent
from orchestrator.ports import Workflows
from orchestrator.workflow.loader import load_workflows
from orchestrator.workflow.plugins import discover_rules

log = structlog.get_logger("orchestrator.worker")
T = TypeVar("T")
RETRY_BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)
# Faust's consumer only carries webhook jobs, which may wait this long for a quiet broker to answer a fetch
# (polling it every 10 ms, as the events consumer does, costs CPU for nothing)
WEBHOOK_FETCH_WAIT_MS = 100


class Runtime:
    """The worker's resources; started by the agent, stopped when it ends."""

    def __init__(self, settings: Settings, workflows: Workflows) -> None:
        self.settings = settings
        self.store = RedisStore.from_url(
            settings.redis_url, prefix=settings.key_prefix, audit_maxlen=settings.audit_maxlen,
            dedup_ttl_s=settings.dedup_ttl_s, audit_retention_s=settings.audit_retention_s,
            timeout_s=settings.redis_timeout_s,
        )
        self.publisher = KafkaPublisher(settings.kafka_bootstrap)
        self.processor = BatchProcessor(
            self.store, workflows, self.publisher, settings.topics, max_inline_depth=settings.max_inline_depth,
            same_root_rounds=settings.same_root_rounds,
        )
        self.consuming = False

    async def start(self) -> None:
        await self.publisher.start()
        await self.processor.relay.sweep()

    async def stop(self) -> None:
        await self.publisher.stop()
        await self.store.close()

    async def apply(self, batch: list[Incoming]) -> Applied:
        """Commit the batch in Redis, until done: a store outage is waited out, never turned into lost events."""
        applied = await self._until_done(lambda: self.processor.apply(batch), "batch_failed_retrying", len(batch))
        report = applied.report
        log.debug("batch_applied", received=report.received, outcomes=report.outcomes,
                  duplicates=report.duplicates, dead_lettered=report.dead_lettered, ran_here=report.ran_here,
                  events_run=report.events_run)
        return applied

    async def settle(self, applied: Applied) -> None:
        """Relay an applied batch (outboxes, dead letters), until done, as :meth:`apply` is."""
        await self._until_done(lambda: self.processor.settle(applied), "relay_failed_retrying",
                               applied.report.received)

    @staticmethod
    async def _until_done(step: Callable[[], Awaitable[T]], failure: str, events: int) -> T:
        attempt = 0
        while True:
            try:
                return await step()
            except Exception as exc:
                delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
                log.error(failure, error=f"{type(exc).__name__}: {exc}", events=events, retry_in_s=delay,
                          attempt=attempt + 1)
                attempt += 1
                await asyncio.sleep(delay)


def create_app(settings: Settings, workflows: Workflows | None = None) -> faust.App:
    """Build the Faust app; workflow files are loaded (and refused whole if any is bad) before it starts."""
    workflows = workflows if workflows is not None else load_workflows(settings.rulesets, discover_rules())
    set_fetch_max_wait(WEBHOOK_FETCH_WAIT_MS)
    runtime = Runtime(settings, workflows)
    app_id = f"{settings.consumer_group}-webhooks"  # Faust's own consumer reads only the webhook jobs
    faust_dir = settings.data_dir / "faust"  # not `<app id>-data` in whatever directory the worker started in
    faust_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        datadir=str(faust_dir / app_id),
        broker=[f"kafka://{host}" for host in settings.kafka_bootstrap.split(",")],
        store="memory://",
        autodiscover=False,
        web_enabled=True,
        web_port=settings.http_port,
        web_bind=settings.http_host,
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 5),
    )
    events = EventConsumer(settings, runtime)

    @app.service
    class Events(mode.Service):  # the events topic, batch by batch: see app/consumer.py
        async def on_start(self) -> None:
            await events.start()
            self.add_future(events.run())

        async def on_stop(self) -> None:
            await events.stop()

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        body = {"status": "ok" if runtime.consuming else "starting", "workflows": len(workflows)}
        return web.json(body, status=200 if runtime.consuming else 503)

    install_api(app, settings, runtime, workflows)  # /workflows, /events (?sync=true), /entities: see openapi.yaml
    install_webhook_agent(app, settings, runtime)  # {prefix}.webhooks: signed POSTs after the commit, audited
    app.orchestrator_runtime = runtime  # type: ignore[attr-defined]
    return app


def tune_gc() -> None:
    """The worker allocates many short-lived objects per event while holding a large, stable heap (workflows,
    models, Faust): the default GC thresholds make it re-scan that heap every few hundred allocations.
    Freezing what start-up built and collecting less often cut CPU per event by about a quarter."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def run_worker(settings: Settings, workflows: Workflows | None = None) -> None:
    """Run a worker in this process until SIGINT/SIGTERM."""
    app = create_app(settings, workflows)
    tune_gc()
    framework_worker(app, settings).execute_from_commandline()


def framework_worker(app: faust.App, settings: Settings) -> faust.Worker:
    """Faust's worker, without its terminal spinner: to spin on every log line Faust sets the root logger to
    DEBUG, and aiokafka then builds a log record for each request it sends and each fetch it handles (about
    5% of the worker's CPU under load) only for the handlers to drop them."""
    worker = faust.Worker(app, loglevel=settings.framework_log_level.lower().replace("warning", "warn"),
                          redirect_stdouts=False, quiet=True)
    worker.spinner = None
    return worker
