"""Webhook delivery against a real HTTP server (aiohttp, started here), the real broker and the real Redis.

Jobs are published to the webhooks topic and consumed from it with a consumer group, each handed to the
worker's :class:`WebhookHandler` (what the Faust agent's actors do) and the offset committed after it returns;
the last test runs a whole `orchestrator worker` whose workflow calls a webhook. The receiving server checks
every signature with the secret, as a real receiver would, and answers as each test scripts it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from orchestrator.adapters.redis_store import RedisStore
from orchestrator.adapters.servers import ensure_topics, free_port
from orchestrator.adapters.webhook_sender import Delivery, verify
from orchestrator.app.codec import Incoming
from orchestrator.app.settings import Settings
from orchestrator.app.webhooks import BAD_JOB, WebhookService
from orchestrator.model import AuditRecord, Category, EntityKey, Outcome, RootKey, read_audit_message

pytestmark = pytest.mark.integration

SECRET = "whsec-integration-9f3a"
MAX_ATTEMPTS = 3
Answer = int | tuple[int, dict[str, str]]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """An HTTP server that verifies signatures and answers each path from a script (the last answer repeats)."""

    secret: str
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[Answer]] = field(default_factory=dict)

    def url(self, path: str, *answers: Answer) -> str:
        self.scripts[path] = list(answers) or [200]
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = verify(self.secret, request.headers.get("X-Orchestrator-Timestamp", ""), body,
                    request.headers.get("X-Orchestrator-Signature", ""))
        self.requests.append(Received(request.path, dict(request.headers), body, ok))
        if not ok:
            return web.Response(status=401, text="bad signature")
        script = self.scripts.get(request.path, [404])
        answer = script.pop(0) if len(script) > 1 else script[0]
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return web.Response(status=status, headers=headers, text=f"answer {status}")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver(SECRET)
    app = web.Application()
    app.router.add_post("/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", server.port).start()
    yield server
    await runner.cleanup()


@pytest.fixture
async def settings(kafka_bootstrap: str, redis_url: str) -> Settings:
    prefix = f"wh-{uuid.uuid4().hex[:10]}"
    made = Settings(kafka_bootstrap=kafka_bootstrap, redis_url=redis_url, topic_prefix=prefix, key_prefix=prefix,
                    consumer_group=f"{prefix}-group", partitions=2, webhook_max_attempts=MAX_ATTEMPTS,
                    webhook_backoff_s=0.01, webhook_backoff_max_s=0.05, webhook_timeout_s=2)
    await ensure_topics(kafka_bootstrap, made.topics, made.partitions)
    return made


@pytest.fixture
async def service(settings: Settings, redis_store: RedisStore,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WebhookService]:
    monkeypatch.setenv("ORCH_TEST_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("ORCH_TEST_UNSET_WEBHOOK_SECRET", raising=False)
    made = WebhookService.from_settings(settings, redis_store)
    await made.open()
    yield made
    await made.close()


def job(url: str, ref: str, *, secret_env: str = "ORCH_TEST_WEBHOOK_SECRET") -> dict[str, Any]:
    """A job as ``codec.webhook_job`` writes it."""
    event_id = str(uuid.uuid4())
    return {"id": f"{event_id}/webhook/0", "url": url, "secretEnv": secret_env, "headers": {"X-Tenant": "acme"},
            "body": {"entity": {"entityRef": ref, "status": "BOOKED"}, "event": {"id": event_id, "name": "CREATE"}},
            "eventId": event_id, "eventName": "CREATE",
            "entity": {"retailerId": "1", "entityType": "ORDER", "entityRef": ref, "rootEntityType": "ORDER",
                       "rootEntityRef": ref}}


async def publish(settings: Settings, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.webhooks_topic, value, key=b"1:ORDER:some-order")
    finally:
        await producer.stop()


async def run_jobs(settings: Settings, service: WebhookService, *jobs: dict[str, Any] | bytes,
                   ) -> list[Delivery | None]:
    """Publish the jobs, consume them as a group member (handled concurrently), commit after each returns."""
    await publish(settings, [j if isinstance(j, bytes) else orjson.dumps(j) for j in jobs])
    consumer = AIOKafkaConsumer(settings.webhooks_topic, bootstrap_servers=settings.kafka_bootstrap,
                                group_id=settings.consumer_group, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    outcomes: list[Delivery | None] = []
    try:
        async with asyncio.timeout(60):
            while len(outcomes) < len(jobs):
                for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                    outcomes += await asyncio.gather(*(service.handler.handle(
                        Incoming(r.topic, r.partition, r.offset, r.key, r.value)) for r in records))
                    await consumer.commit({tp: records[-1].offset + 1})
        await assert_all_committed(consumer, settings.webhooks_topic)
    finally:
        await consumer.stop()
    return outcomes


async def assert_all_committed(consumer: AIOKafkaConsumer, topic: str) -> None:
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    ends = await consumer.end_offsets(tps)
    assert {tp: await consumer.committed(tp) or 0 for tp in tps} == ends, "every handled job's offset committed"


async def read_topic(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """(key, value, headers) of everything on ``topic`` up to its end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends, found = await consumer.end_offsets(tps), []
        async with asyncio.timeout(30):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [(r.key, r.value, {k: bytes(v) for k, v in r.headers}) for r in records]
        return found
    finally:
        await consumer.stop()


async def webhook_audit(store: RedisStore, ref: str) -> list[AuditRecord]:
    trail = await store.audit(EntityKey("1", "ORDER", ref), RootKey("1", "ORDER", ref))
    return [r for r in trail if r.category is Category.WEBHOOK]


async def test_a_signed_post_is_delivered_and_audited_on_the_entity_and_the_audit_topic(
    settings: Settings, service: WebhookService, receiver: Receiver, redis_store: RedisStore,
) -> None:
    sent = job(receiver.url("/orders/O-1"), "O-1")
    [delivery] = await run_jobs(settings, service, sent)

    [request] = receiver.requests
    assert request.signature_ok, "the server verified the signature with the shared secret"
    assert orjson.loads(request.body) == sent["body"]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Orchestrator-Event-Id"] == sent["eventId"]
    assert request.headers["X-Orchestrator-Delivery"] == sent["id"]
    assert request.headers["X-Orchestrator-Timestamp"].isdigit()
    assert request.headers["X-Tenant"] == "acme"
    assert delivery is not None and delivery.ok

    [record] = await webhook_audit(redis_store, "O-1")
    assert (record.status, record.name, record.event_id) == (Outcome.SUCCESS, "Webhook", sent["eventId"])
    assert record.data == {"url": sent["url"], "attempts": 1, "statusCode": 200, "deliveryId": sent["id"]}
    assert record.message.startswith(f"POST {sent['url']} → 200 OK after 1 attempt (")
    on_topic = [(k, *read_audit_message(v)) for k, v, _ in
                await read_topic(settings.kafka_bootstrap, settings.audit_topic)]
    assert on_topic == [(b"1:ORDER:O-1", record)]


async def test_a_server_failing_twice_gets_the_call_on_the_third_attempt(
    settings: Settings, service: WebhookService, receiver: Receiver, redis_store: RedisStore,
) -> None:
    url = receiver.url("/flaky", 503, (503, {"Retry-After": "0"}), 200)
    sent = job(url, "O-2")
    await run_jobs(settings, service, sent)

    tries = receiver.at("/flaky")
    assert len(tries) == 3
    assert all(t.signature_ok for t in tries), "every attempt is signed afresh"
    assert {t.headers["X-Orchestrator-Delivery"] for t in tries} == {sent["id"]}, "one delivery id to dedup on"
    [record] = await webhook_audit(redis_store, "O-2")
    assert record.status is Outcome.SUCCESS
    assert (record.data["attempts"], record.data["statusCode"]) == (3, 200)
    assert "200 OK after 3 attempts" in record.message


async def test_a_server_that_always_fails_is_given_up_on_after_the_last_attempt(
    settings: Settings, service: WebhookService, receiver: Receiver, redis_store: RedisStore,
) -> None:
    sent = job(receiver.url("/down", 500), "O-3")
    await run_jobs(settings, service, sent)

    assert len(receiver.at("/down")) == MAX_ATTEMPTS
    [record] = await webhook_audit(redis_store, "O-3")
    assert record.status is Outcome.FAILED
    assert (record.data["attempts"], record.data["statusCode"]) == (MAX_ATTEMPTS, 500)
    assert f"gave up after {MAX_ATTEMPTS} attempts: 500 Internal Server Error" in record.message
    assert record.data["response"] == "answer 500"


async def test_a_client_error_is_final(
    settings: Settings, service: WebhookService, receiver: Receiver, redis_store: RedisStore,
) -> None:
    sent = job(receiver.url("/strict", 400, 200), "O-4")
    await run_jobs(settings, service, sent)

    assert len(receiver.at("/strict")) == 1, "a 400 is not retried"
    [record] = await webhook_audit(redis_store, "O-4")
    assert (record.status, record.data["attempts"], record.data["statusCode"]) == (Outcome.FAILED, 1, 400)
    assert "400 Bad Request, not retried" in record.message


async def test_a_header_that_cannot_be_sent_is_a_final_failure_not_a_crash(
    settings: Settings, service: WebhookService, receiver: Receiver, redis_store: RedisStore,
) -> None:
    sent = {**job(receiver.url("/headers"), "O-8"), "headers": {"X-Note": "line one\r\nX-Injected: yes"}}
    await run_jobs(settings, service, sent)

    assert receiver.requests == []
    [record] = await webhook_audit(redis_store, "O-8")
    assert (record.status, record.data["attempts"]) == (Outcome.FAILED, 1)
    assert "cannot send" in record.message


async def test_a_missing_secret_sends_nothing_and_says_which_variable_to_set(
    settings: Settings, service: WebhookService, receiver: Receiver, redis_store: RedisStore,
) -> None:
    sent = job(receiver.url("/unsigned"), "O-5", secret_env="ORCH_TEST_UNSET_WEBHOOK_SECRET")
    await run_jobs(settings, service, sent)

    assert receiver.requests == [], "an unsigned call never leaves"
    [record] = await webhook_audit(redis_store, "O-5")
    assert (record.status, record.data["attempts"], record.data["statusCode"]) == (Outcome.FAILED, 0, None)
    assert "set the environment variable ORCH_TEST_UNSET_WEBHOOK_SECRET" in record.message


async def test_an_unreachable_server_is_retried_then_given_up_on(
    settings: Settings, service: WebhookService, redis_store: RedisStore,
) -> None:
    sent = job(f"http://127.0.0.1:{free_port()}/nobody-listens", "O-6")
    await run_jobs(settings, service, sent)

    [record] = await webhook_audit(redis_store, "O-6")
    assert (record.status, record.data["attempts"], record.data["statusCode"]) == (Outcome.FAILED, 3, None)
    assert f"gave up after {MAX_ATTEMPTS} attempts: cannot connect to 127.0.0.1" in record.message


async def test_an_unreadable_job_goes_to_the_dlq_and_the_next_job_still_goes_out(
    settings: Settings, service: WebhookService, receiver: Receiver, redis_store: RedisStore,
) -> None:
    good = job(receiver.url("/after-bad"), "O-7")
    outcomes = await run_jobs(settings, service, b"{not json", orjson.dumps({"id": "x"}), good)

    assert sorted(o is None for o in outcomes) == [False, True, True]
    assert len(receiver.at("/after-bad")) == 1
    assert [r.status for r in await webhook_audit(redis_store, "O-7")] == [Outcome.SUCCESS]
    dead = await read_topic(settings.kafka_bootstrap, settings.dlq_topic)
    assert sorted(value for _, value, _ in dead) == sorted([b"{not json", b'{"id":"x"}'])
    for _, _, headers in dead:
        assert headers["orch.error.reason"] == BAD_JOB.encode()
        assert headers["orch.source.topic"] == settings.webhooks_topic.encode()
        assert b"unreadable webhook job" in headers["orch.error.message"]



# --- a whole worker: the event's commit, the relay, the Faust agent, the POST, the audit ------------------------

WORKFLOW = """
retailerId: "1"
entityType: ORDER
entitySubtype: HD
version: "1.0"
name: ORDER::HD
statuses:
  - {name: CREATED, entityType: ORDER, category: BOOKING}
  - {name: BOOKED, entityType: ORDER, category: BOOKING}
rulesets:
  - name: CREATE
    type: ORDER
    triggers: [{status: CREATED}]
    rules:
      - {name: SetState, props: {status: BOOKED}}
      - name: Webhook
        props: {url: "BASE/orders/{entity.entityRef}", secretEnv: ORCH_WEBHOOK_TEST_WORKER, headers: {X-Tenant: acme}}
"""


def worker_env(settings: Settings, rulesets: Path, http_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    return {**env, "ORCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "ORCH_REDIS_URL": settings.redis_url,
            "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_KEY_PREFIX": settings.key_prefix,
            "ORCH_CONSUMER_GROUP": settings.consumer_group, "ORCH_PARTITIONS": str(settings.partitions),
            "ORCH_RULESETS": str(rulesets), "ORCH_HTTP_HOST": "127.0.0.1", "ORCH_HTTP_PORT": str(http_port),
            "ORCH_WEBHOOK_TEST_WORKER": SECRET, "ORCH_WEBHOOK_BACKOFF_S": "0.01", "PYTHONUNBUFFERED": "1"}


async def until(what: str, check: Callable[[], Awaitable[Any]], process: subprocess.Popen[bytes], log: Path,
                timeout: float = 90.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail early when the worker died, with its log."""
    deadline = time.monotonic() + timeout
    while not (found := await check()):
        if process.poll() is not None or time.monotonic() > deadline:
            state = f"exited with {process.returncode}" if process.poll() is not None else "still running"
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise AssertionError(f"{what}: not within {timeout:g}s; the worker is {state}\n{tail}")
        await asyncio.sleep(0.25)
    return found


async def test_a_worker_posts_the_webhook_of_a_committed_event_and_audits_it(
    settings: Settings, receiver: Receiver, tmp_path: Path,
) -> None:
    rulesets = tmp_path / "rulesets"
    rulesets.mkdir()
    receiver.url("/orders/W-1", 503, 200)
    (rulesets / "order.yaml").write_text(WORKFLOW.replace("BASE", f"http://127.0.0.1:{receiver.port}"))
    port, log = free_port(), tmp_path / "worker.log"
    with log.open("ab") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / "orchestrator"), "worker"], stdout=out,
                                   stderr=subprocess.STDOUT, env=worker_env(settings, rulesets, port))
    store = RedisStore.from_url(settings.redis_url, prefix=settings.key_prefix)
    try:
        health = f"http://127.0.0.1:{port}/health"
        await until("the worker is healthy", lambda: asyncio.to_thread(http_ok, health), process, log)
        event = {"id": str(uuid.uuid4()), "name": "CREATE", "retailerId": "1", "entityType": "ORDER",
                 "entitySubtype": "HD", "entityRef": "W-1"}
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        await producer.send_and_wait(settings.events_topic, orjson.dumps(event), key=b"1:ORDER:W-1")
        await producer.stop()

        [record] = await until("the webhook's audit record", lambda: webhook_audit(store, "W-1"), process, log)
    finally:
        process.terminate()
        process.wait(30)
        await store.close()

    first, second = receiver.at("/orders/W-1")
    assert first.signature_ok and second.signature_ok
    assert first.headers["X-Orchestrator-Delivery"] == second.headers["X-Orchestrator-Delivery"] == \
        f"{event['id']}/webhook/0"
    body = orjson.loads(second.body)
    assert (body["entity"]["status"], body["event"]["id"]) == ("BOOKED", event["id"]), "the committed state"
    assert (record.status, record.event_id, record.data["attempts"]) == (Outcome.SUCCESS, event["id"], 2)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except OSError:
        return False
