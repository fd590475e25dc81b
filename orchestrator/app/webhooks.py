"""Webhook delivery, after the atomic commit: consume ``{prefix}.webhooks``, POST signed, audit the outcome.

A ``Webhook`` rule never does I/O: its call becomes a job (:func:`orchestrator.app.codec.webhook_job`) in the
event's outbox, committed with the event's atomic step, and the relay publishes it to ``{prefix}.webhooks``.
Here a Faust agent (``ORCH_WEBHOOK_CONCURRENCY`` actors per worker, one job each at a time) takes each job and:

1. reads the signing secret from the environment variable the job names (``secretEnv``; the rule's default
   ``ORCH_WEBHOOK_SECRET`` may also come from the settings). Unset: nothing is sent — unsigned calls never
   leave — and the outcome is audited as FAILED, naming the variable to set;
2. POSTs the JSON body, signed and retried as :mod:`orchestrator.adapters.webhook_sender` describes;
3. audits the outcome on the entity — category ``WEBHOOK``, name ``Webhook``, status SUCCESS or FAILED, a
   message such as ``POST https://… → 200 OK after 2 attempts (41 ms)`` and data ``{url, attempts,
   statusCode, deliveryId}`` — in the entity's audit stream (:meth:`EntityStore.append_audit`) and on
   ``{prefix}.audit``.

At least once: a job's offset is committed only after its outcome is audited (Faust acks an event when its
actor asks for the next one; an actor stopped mid-job leaves its offset uncommitted). A redelivered job is
sent again with the same ``X-Orchestrator-Delivery``, so receivers deduplicate on that header. A Redis or
Kafka outage while auditing is waited out, never turned into a lost outcome.

A job that cannot be read (not JSON, fields missing) is never retried: it goes to ``{prefix}.dlq`` with
reason ``BAD_WEBHOOK_JOB`` and the usual ``orch.error.*`` / ``orch.source.*`` headers, and the worker goes on.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import faust
import orjson
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from orchestrator.adapters.kafka_publisher import KafkaPublisher
from orchestrator.adapters.webhook_sender import Delivery, RetryPolicy, WebhookSender, not_sent
from orchestrator.app.codec import BadInput, Incoming, dead_letter
from orchestrator.app.settings import Settings
from orchestrator.model import AuditEntry, AuditRecord, Category, EntityKey, Outcome, RootKey, audit_message
from orchestrator.ports import EntityStore, Publisher, Record

if TYPE_CHECKING:
    from orchestrator.app.worker import Runtime

log = structlog.get_logger("orchestrator.webhooks")
BAD_JOB = "BAD_WEBHOOK_JOB"
DEFAULT_SECRET_ENV = "ORCH_WEBHOOK_SECRET"
PERSIST_BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)
RESERVED_HEADERS = frozenset({"content-type", "content-length", "host"})

SecretLookup = Callable[[str], str | None]


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class JobEntity(_Wire):
    retailer_id: str
    entity_type: str
    entity_ref: str
    root_entity_type: str
    root_entity_ref: str


class WebhookJob(_Wire):
    """A webhook call as the relay publishes it (see ``codec.webhook_job``)."""

    id: str = Field(min_length=1)
    url: str = Field(min_length=1)
    body: Any = None
    secret_env: str = DEFAULT_SECRET_ENV
    headers: dict[str, str] = Field(default_factory=dict)
    event_id: str
    event_name: str
    entity: JobEntity

    @property
    def key(self) -> EntityKey:
        return EntityKey(self.entity.retailer_id, self.entity.entity_type, self.entity.entity_ref)

    @property
    def root(self) -> RootKey:
        return RootKey(self.entity.retailer_id, self.entity.root_entity_type, self.entity.root_entity_ref)


def parse_job(value: bytes | None) -> WebhookJob:
    """The job, or :class:`BadInput` with reason ``BAD_WEBHOOK_JOB`` saying what is wrong."""
    try:
        return WebhookJob.model_validate_json(value or b"")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'job'}: {e['msg'].lower()}"
                             for e in exc.errors())
        raise BadInput(BAD_JOB, f"unreadable webhook job: {problems}") from None


def request_headers(job: WebhookJob) -> dict[str, str]:
    """The rule's headers, then ours (which a rule cannot override); the sender adds timestamp and signature."""
    own = {k: v for k, v in job.headers.items()
           if k.lower() not in RESERVED_HEADERS and not k.lower().startswith("x-orchestrator-")}
    return {**own, "Content-Type": "application/json", "X-Orchestrator-Event-Id": job.event_id,
            "X-Orchestrator-Delivery": job.id}


def audit_record(job: WebhookJob, delivery: Delivery, at: datetime) -> AuditRecord:
    data: dict[str, Any] = {"url": job.url, "attempts": delivery.attempts, "statusCode": delivery.last.status,
                            "deliveryId": job.id}
    if not delivery.ok and delivery.last.excerpt:
        data["response"] = delivery.last.excerpt
    e = job.entity
    return AuditRecord(
        at=at, event_id=job.event_id, event_name=job.event_name, retailer_id=e.retailer_id,
        entity_type=e.entity_type, entity_ref=e.entity_ref, root_entity_type=e.root_entity_type,
        root_entity_ref=e.root_entity_ref, category=Category.WEBHOOK,
        status=Outcome.SUCCESS if delivery.ok else Outcome.FAILED, name="Webhook", message=delivery.describe(),
        duration_us=int(delivery.elapsed_s * 1_000_000), data=data,
    )


def env_secrets(settings: Settings) -> SecretLookup:
    """Secrets by variable name: the process environment, else ``ORCH_WEBHOOK_SECRET`` from the settings."""
    configured = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None

    def lookup(name: str) -> str | None:
        return os.environ.get(name) or (configured if name == DEFAULT_SECRET_ENV else None)

    return lookup


def missing_secret(job: WebhookJob) -> Delivery:
    return not_sent(job.url, f"the signing secret is not set; set the environment variable {job.secret_env} on "
                             "the workers (the Webhook rule's secretEnv names it) — unsigned calls are never sent")


def utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookHandler:
    """One job from start to audited outcome; never raises for what a job, a server or an outage does."""

    def __init__(self, store: EntityStore, publisher: Publisher, sender: WebhookSender, *, audit_topic: str,
                 dlq_topic: str, secrets: SecretLookup, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.publisher = publisher
        self.sender = sender
        self.audit_topic = audit_topic
        self.dlq_topic = dlq_topic
        self.secrets = secrets
        self.clock = clock

    async def handle(self, message: Incoming) -> Delivery | None:
        """Deliver and audit one job; None when the job was unreadable and went to the DLQ."""
        try:
            job = parse_job(message.value)
        except BadInput as exc:
            log.warning("dead_letter", reason=exc.reason, detail=str(exc), topic=message.topic,
                        partition=message.partition, offset=message.offset)
            dead = dead_letter(self.dlq_topic, message, exc.reason, str(exc))
            await self._until_done("dead_letter", lambda: self.publisher.publish([dead]))
            return None
        delivery = await self._deliver(job)
        await self._audit(job, delivery)
        return delivery

    async def _deliver(self, job: WebhookJob) -> Delivery:
        secret = self.secrets(job.secret_env)
        if not secret:
            return missing_secret(job)
        try:
            return await self.sender.deliver(job.url, orjson.dumps(job.body), request_headers(job), secret)
        except Exception as exc:  # a bug, not the network: audit it rather than stall the partition
            log.exception("webhook_internal_error", delivery_id=job.id)
            return not_sent(job.url, f"internal error: {type(exc).__name__}: {exc}")

    async def _audit(self, job: WebhookJob, delivery: Delivery) -> None:
        audited = audit_record(job, delivery, self.clock())
        raw = audited.to_json()
        record = Record(self.audit_topic, job.root.tag.encode(), audit_message([AuditEntry.of(audited)]))
        await self._until_done("append_audit", lambda: self.store.append_audit(job.key, job.root, [raw]))
        await self._until_done("publish_audit", lambda: self.publisher.publish([record]))
        fields = {"delivery_id": job.id, "url": job.url, "attempts": delivery.attempts,
                  "status_code": delivery.last.status, "entity": f"{job.key.entity_type}:{job.key.entity_ref}"}
        if delivery.ok:
            log.info("webhook_delivered", **fields)
        else:
            log.warning("webhook_failed", detail=delivery.describe(), **fields)

    @staticmethod
    async def _until_done(what: str, step: Callable[[], Awaitable[None]]) -> None:
        """Retry ``step`` until it succeeds: an outage is waited out (stopping the worker cancels the wait)."""
        attempt = 0
        while True:
            try:
                await step()
                return
            except Exception as exc:
                delay = PERSIST_BACKOFF_S[min(attempt, len(PERSIST_BACKOFF_S) - 1)]
                log.error("webhook_step_failed_retrying", step=what, error=f"{type(exc).__name__}: {exc}",
                          retry_in_s=delay, attempt=attempt + 1)
                attempt += 1
                await asyncio.sleep(delay)


class WebhookService:
    """The handler and its resources, opened by the first actor that starts and closed by the last that stops."""

    def __init__(self, handler: WebhookHandler, publisher: KafkaPublisher) -> None:
        self.handler = handler
        self._publisher = publisher
        self._users = 0
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, store: EntityStore,
                      secrets: SecretLookup | None = None) -> WebhookService:
        publisher = KafkaPublisher(settings.kafka_bootstrap, client_id="orchestrator-webhooks")
        policy = RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_s, settings.webhook_backoff_max_s)
        sender = WebhookSender(policy, settings.webhook_timeout_s, connections=settings.webhook_concurrency)
        handler = WebhookHandler(store, publisher, sender, audit_topic=settings.audit_topic,
                                 dlq_topic=settings.dlq_topic, secrets=secrets or env_secrets(settings))
        return cls(handler, publisher)

    async def open(self) -> None:
        async with self._lock:
            if self._users == 0:
                await self._publisher.start()
                await self.handler.sender.start()
            self._users += 1

    async def close(self) -> None:
        async with self._lock:
            self._users -= 1
            if self._users == 0:
                await self.handler.sender.close()
                await self._publisher.stop()

    async def handle_event(self, event: Any) -> None:
        """One Faust event; stopped mid-job, its offset is kept uncommitted so that the job is redelivered."""
        m = event.message
        try:
            await self.handler.handle(Incoming(m.topic, m.partition, m.offset, m.key, m.value))
        except BaseException:
            m.acked = True  # the stream acks on unwind; marking it acked already keeps it out of the commit
            raise


def install_webhook_agent(app: faust.App, settings: Settings, runtime: Runtime) -> WebhookService:
    """Add the agent on ``{prefix}.webhooks`` to the worker's Faust app; audits go to ``runtime.store``."""
    service = WebhookService.from_settings(settings, runtime.store)
    topic = app.topic(settings.webhooks_topic, value_serializer="raw", key_serializer="raw",
                      partitions=settings.partitions)

    @app.agent(topic, concurrency=settings.webhook_concurrency)
    async def deliver_webhooks(stream: Any) -> None:
        await service.open()
        try:
            async for event in stream.events():
                await service.handle_event(event)
        finally:
            await service.close()

    return service
