"""Webhook jobs as the relay publishes them: reading them, the headers sent, the audit record, secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from orchestrator.adapters.webhook_sender import Attempt, Delivery
from orchestrator.app.codec import BadInput, webhook_job
from orchestrator.app.settings import Settings
from orchestrator.app.webhooks import (
    BAD_JOB,
    audit_record,
    env_secrets,
    missing_secret,
    parse_job,
    request_headers,
)
from orchestrator.engine import decide
from orchestrator.model import Category, EntityKey, Event, Outcome, RootKey
from orchestrator.workflow.loader import load_workflows
from orchestrator.workflow.plugins import discover_rules

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
WORKFLOW = """
retailerId: "1"
entityType: FULFILMENT
entitySubtype: HD
version: "1.0"
name: FULFILMENT::HD
statuses:
  - {name: CREATED, entityType: FULFILMENT, category: BOOKING}
  - {name: PICKED, entityType: FULFILMENT, category: FULFILMENT}
rulesets:
  - name: Picked
    type: FULFILMENT
    triggers: [{status: CREATED}]
    rules:
      - name: SetState
        props: {status: PICKED}
      - name: Webhook
        props:
          url: "https://wms.example/fulfilments/{entity.entityRef}"
          payload: entity
          secretEnv: ORCH_WEBHOOK_WMS
          headers: {X-Tenant: acme, content-type: text/plain, X-Orchestrator-Delivery: forged}
"""


@pytest.fixture
def job_bytes(tmp_path: Path) -> bytes:
    """A job made the way the worker makes it: a decision of a workflow with a Webhook rule, through the codec."""
    (tmp_path / "fulfilment.yaml").write_text(WORKFLOW)
    workflow = load_workflows(tmp_path, discover_rules()).lookup("1", "FULFILMENT", "HD")
    assert workflow is not None
    event = Event(id="ev-1", name="Picked", retailer_id="1", entity_type="FULFILMENT", entity_subtype="HD",
                  entity_ref="F-1", root_entity_type="ORDER", root_entity_ref="O-1")
    decision = decide(event, None, workflow, NOW)
    assert len(decision.webhooks) == 1
    return webhook_job(decision, 0)


def test_a_job_from_the_codec_reads_back_whole(job_bytes: bytes) -> None:
    job = parse_job(job_bytes)
    assert (job.id, job.event_id, job.event_name) == ("ev-1/webhook/0", "ev-1", "Picked")
    assert job.url == "https://wms.example/fulfilments/F-1"
    assert job.secret_env == "ORCH_WEBHOOK_WMS"
    assert job.key == EntityKey("1", "FULFILMENT", "F-1")
    assert job.root == RootKey("1", "ORDER", "O-1")
    assert job.body["entity"]["status"] == "PICKED"
    assert "event" not in job.body


@pytest.mark.parametrize(("value", "says"), [
    (None, "job"),
    (b"", "job"),
    (b"not json", "job"),
    (b"[1, 2]", "job"),
    (b'{"id": "x", "url": "https://a.example"}', "eventid: field required"),
    (orjson.dumps({"id": "x", "url": "https://a", "eventId": "e", "eventName": "n", "entity": {"retailerId": "1"}}),
     "entity.entityType: field required"),
])
def test_unreadable_jobs_are_refused_saying_what_is_wrong(value: bytes | None, says: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_job(value)
    assert caught.value.reason == BAD_JOB
    assert says.lower() in str(caught.value).lower()


def test_headers_keep_the_rules_own_but_never_let_it_forge_ours(job_bytes: bytes) -> None:
    headers = request_headers(parse_job(job_bytes))
    assert headers == {
        "X-Tenant": "acme",
        "Content-Type": "application/json",
        "X-Orchestrator-Event-Id": "ev-1",
        "X-Orchestrator-Delivery": "ev-1/webhook/0",
    }


def test_the_audit_record_is_about_the_entity_and_says_what_happened(job_bytes: bytes) -> None:
    job = parse_job(job_bytes)
    delivered = Delivery(job.url, 3, Attempt(200, "200 OK", transient=False), elapsed_s=0.25)
    record = audit_record(job, delivered, NOW)
    assert (record.category, record.status, record.name) == (Category.WEBHOOK, Outcome.SUCCESS, "Webhook")
    assert (record.entity_type, record.entity_ref, record.root_entity_ref) == ("FULFILMENT", "F-1", "O-1")
    assert (record.event_id, record.event_name, record.at) == ("ev-1", "Picked", NOW)
    assert record.data == {"url": job.url, "attempts": 3, "statusCode": 200, "deliveryId": "ev-1/webhook/0"}
    assert record.duration_us == 250_000
    assert record.message == f"POST {job.url} → 200 OK after 3 attempts (250 ms)"

    refused = Delivery(job.url, 1, Attempt(422, "422 Unprocessable Entity", False, excerpt='{"error":"sku"}'))
    failed = audit_record(job, refused, NOW)
    assert failed.status is Outcome.FAILED
    assert failed.data["statusCode"] == 422 and failed.data["response"] == '{"error":"sku"}'


def test_a_missing_secret_is_a_failure_naming_the_variable(job_bytes: bytes) -> None:
    job = parse_job(job_bytes)
    record = audit_record(job, missing_secret(job), NOW)
    assert record.status is Outcome.FAILED
    assert "set the environment variable ORCH_WEBHOOK_WMS" in record.message
    assert record.data == {"url": job.url, "attempts": 0, "statusCode": None, "deliveryId": job.id}


def test_secrets_come_from_the_named_variable_or_the_settings_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCH_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("ORCH_WEBHOOK_WMS", "from-env")
    lookup = env_secrets(Settings(webhook_secret="from-settings"))
    assert lookup("ORCH_WEBHOOK_WMS") == "from-env"
    assert lookup("ORCH_WEBHOOK_SECRET") == "from-settings"
    assert lookup("UNSET_SECRET_VARIABLE") is None
    assert env_secrets(Settings())("ORCH_WEBHOOK_SECRET") is None
    monkeypatch.setenv("ORCH_WEBHOOK_SECRET", "env-wins")
    assert env_secrets(Settings(webhook_secret="from-settings"))("ORCH_WEBHOOK_SECRET") == "env-wins"

