"""The worker's HTTP API against a real `orchestrator worker` process, a real broker and a real Redis: manual
triggers with their execution report, workflows, entities, audit, every error with its message, and
`orchestrator send --sync`. Every response is checked against openapi.yaml."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from orchestrator.adapters.redis_store import RedisStore
from orchestrator.adapters.servers import ensure_topics, free_port
from orchestrator.engine.report import build_report
from orchestrator.model import EntityKey, RootKey

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())


# --- checking responses against openapi.yaml --------------------------------------------------------------


def _retrieve(uri: str) -> Resource[Any]:
    path = Path(uri.removeprefix("file://"))
    contents = yaml.safe_load(path.read_text()) if path.suffix == ".yaml" else orjson.loads(path.read_bytes())
    return Resource.from_contents(contents, default_specification=DRAFT202012)


REGISTRY: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def conforms(method: str, template: str, status: int, body: Any) -> None:
    """The response is one openapi.yaml declares for this operation and status, and matches its schema."""
    responses = SPEC["paths"][template][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {template} answered {status}, not declared: {body}"
    pointer = "/".join(p.replace("~", "~0").replace("/", "~1") for p in
                       ("paths", template, method, "responses", str(status), "content", "application/json", "schema"))
    validator = Draft202012Validator({"$ref": f"{OPENAPI.as_uri()}#/{pointer}"}, registry=REGISTRY)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, f"{method.upper()} {template} {status} does not match openapi.yaml: {errors[:5]}"


def test_openapi_document_is_valid_openapi_3_1() -> None:
    validate_spec(SPEC, base_uri=OPENAPI.as_uri())  # external $refs into schemas/ included
    assert SPEC["openapi"].startswith("3.1")
    assert {"/workflows", "/workflows/{retailer}/{type}/{subtype}", "/events", "/entities/{retailer}/{type}/{ref}",
            "/entities/{retailer}/{type}/{ref}/audit", "/health"} == set(SPEC["paths"])


# --- the worker ---------------------------------------------------------------------------------------------


@dataclass
class Worker:
    base: str
    env: dict[str, str]
    log_path: Path
    store: RedisStore

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    async def call(self, method: str, template: str, *, path: dict[str, str] | None = None,
                   query: dict[str, str] | None = None, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        url = self.base + template.format(**{k: quote(v, safe="") for k, v in (path or {}).items()})
        data = raw if raw is not None else None if body is None else orjson.dumps(body)
        async with aiohttp.ClientSession() as session, session.request(
                method, url, params=query, data=data, timeout=aiohttp.ClientTimeout(total=90)) as response:
            assert response.content_type == "application/json", f"{url}: {await response.text()}"
            payload = await response.json()
        conforms(method, template, response.status, payload)
        return response.status, payload


def orchestrator_command() -> str:
    return str(Path(sys.executable).parent / "orchestrator")


async def wait_healthy(base: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"worker exited with {process.returncode}:\n{log_path.read_text()}"
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/health") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.25)
    raise AssertionError(f"{base}/health not 200 within {timeout}s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
async def worker(kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[Worker]:
    """One `orchestrator worker` with its own topics, consumer group and Redis key prefix."""
    prefix = f"api-{uuid.uuid4().hex[:10]}"
    await ensure_topics(kafka_bootstrap, [f"{prefix}.{t}" for t in ("events", "audit", "dlq", "webhooks")], 2)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")} | {
        "ORCH_KAFKA_BOOTSTRAP": kafka_bootstrap, "ORCH_REDIS_URL": redis_url, "ORCH_TOPIC_PREFIX": prefix,
        "ORCH_KEY_PREFIX": prefix, "ORCH_CONSUMER_GROUP": prefix, "ORCH_HTTP_PORT": str(port),
        "ORCH_HTTP_HOST": "127.0.0.1", "ORCH_RULESETS": str(REPO / "rulesets"), "ORCH_SESSION_TIMEOUT_S": "6",
        "ORCH_DATA_DIR": str(tmp_path_factory.mktemp("api-data")),
    }
    log_path = tmp_path_factory.mktemp("api") / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([orchestrator_command(), "worker"], env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    store = RedisStore.from_url(redis_url, prefix=prefix)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base, process, log_path)
        yield Worker(base, env, log_path, store)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        keys = [k async for k in store.redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await store.redis.delete(*keys)
        await store.close()


def create(ref: str, **extra: Any) -> dict[str, Any]:
    return {"name": "CREATE", "retailerId": "1", "entityType": "ORDER", "entitySubtype": "HD", "entityRef": ref,
            "attributes": {"total": 42, "customer": "C-1"}, **extra}


def new_ref() -> str:
    return f"O-{uuid.uuid4().hex[:8]}"


def order_path(ref: str) -> dict[str, str]:
    return {"retailer": "1", "type": "ORDER", "ref": ref}


async def until_found(worker: Worker, template: str, path: dict[str, str], query: dict[str, str] | None = None,
                      timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await worker.call("get", template, path=path, query=query)
        if status == 200:
            return body
        assert time.monotonic() < deadline, f"{template} {path} still {status} after {timeout}s\n{worker.log_tail()}"
        await asyncio.sleep(0.2)


# --- manual triggers ----------------------------------------------------------------------------------------


async def test_sync_create_answers_with_the_execution_report(worker: Worker) -> None:
    ref = new_ref()
    status, report = await worker.call("post", "/events", query={"sync": "true"}, body=create(ref))

    assert status == 200, report
    assert (report["outcome"], report["eventName"], report["entityRef"]) == ("SUCCESS", "CREATE", ref)
    assert report["stateBefore"] == {"status": "CREATED", "version": 0}
    assert report["stateAfter"] == {"status": "BOOKED", "version": 1}
    assert report["rulesets"][0]["name"] == "CREATE"
    rules = [(r["rule"], r["props"]) for rs in report["rulesets"] for r in rs["rules"]]
    assert ("SetState", {"status": "BOOKED"}) in rules
    sent = [(e["name"], e["entityType"], e["entityRef"]) for e in report["eventsSent"] if not e["inline"]]
    assert sent == [("CreateFulfilment", "FULFILMENT", f"{ref}-F1")]

    trail = await worker.store.audit(EntityKey("1", "ORDER", ref), RootKey("1", "ORDER", ref))
    rebuilt = build_report(trail, report["eventId"])
    assert rebuilt is not None and rebuilt.model_dump(mode="json", by_alias=True) == report, \
        "the report is what the entity's audit records of the event add up to"


async def test_sync_resend_of_an_applied_event_answers_with_its_earlier_report(worker: Worker) -> None:
    ref, event_id = new_ref(), str(uuid.uuid4())
    first = await worker.call("post", "/events", query={"sync": "1"}, body=create(ref, id=event_id))
    again = await worker.call("post", "/events", query={"sync": "true", "timeout": "5"}, body=create(ref, id=event_id))
    assert first[0] == again[0] == 200
    assert again[1] == first[1], "a duplicate changes nothing: its report is the first execution's"
    status, entity = await worker.call("get", "/entities/{retailer}/{type}/{ref}", path=order_path(ref))
    assert (status, entity["version"]) == (200, 1)


async def test_sync_event_that_matches_nothing_reports_no_match(worker: Worker) -> None:
    ref = new_ref()
    await worker.call("post", "/events", query={"sync": "true"}, body=create(ref))
    bogus = {"name": "Bogus", "retailerId": "1", "entityType": "ORDER", "entityRef": ref}
    status, report = await worker.call("post", "/events", query={"sync": "true"}, body=bogus)
    assert status == 200
    assert (report["outcome"], report["rulesets"], report["changed"]) == ("NO_MATCH", [], False)
    assert report["stateBefore"] == report["stateAfter"] == {"status": "BOOKED", "version": 1}


async def test_sync_that_is_not_recorded_in_time_answers_504_with_what_to_check(worker: Worker) -> None:
    ref, event_id = new_ref(), str(uuid.uuid4())
    first, _ = await worker.call("post", "/events", query={"sync": "true"}, body=create(ref, id=event_id))
    assert first == 200
    order = EntityKey("1", "ORDER", ref)
    await worker.store.redis.delete(worker.store.keys.audit(RootKey(*order), order))  # its audit ran out
    # sent again, the event is a duplicate: the worker skips it and records nothing, so the wait must time out
    status, body = await worker.call("post", "/events", query={"sync": "true", "timeout": "0.5"},
                                     body=create(ref, id=event_id))
    assert (status, body["eventId"]) == (504, event_id)
    assert "within 0.5s" in body["error"] and "orchestrator dlq" in body["error"]
    assert f"orchestrator audit ORDER {ref} --retailer 1" in body["error"]


async def test_async_post_is_accepted_and_processed_then_readable(worker: Worker) -> None:
    ref = new_ref()
    status, accepted = await worker.call("post", "/events", body=create(ref))
    assert status == 202 and accepted["topic"].endswith(".events")
    assert uuid.UUID(accepted["eventId"]), "an event without id gets a UUID"

    entity = await until_found(worker, "/entities/{retailer}/{type}/{ref}", order_path(ref))
    assert (entity["status"], entity["version"], entity["attributes"]["total"]) == ("BOOKED", 1, 42)
    status, audit = await worker.call("get", "/entities/{retailer}/{type}/{ref}/audit", path=order_path(ref))
    assert status == 200 and (audit["rootEntityType"], audit["rootEntityRef"]) == ("ORDER", ref)
    finals = [r for r in audit["records"] if r["category"] == "EVENT" and r["eventId"] == accepted["eventId"]]
    assert [r["data"]["statusAfter"] for r in finals] == ["BOOKED"]
    status, two = await worker.call("get", "/entities/{retailer}/{type}/{ref}/audit", path=order_path(ref),
                                    query={"limit": "2"})
    assert status == 200 and two["records"] == audit["records"][:2]


async def test_a_child_entity_is_found_by_its_root_or_by_searching(worker: Worker) -> None:
    ref = new_ref()
    await worker.call("post", "/events", query={"sync": "true"}, body=create(ref))
    child = {"retailer": "1", "type": "FULFILMENT", "ref": f"{ref}-F1"}
    by_root = await until_found(worker, "/entities/{retailer}/{type}/{ref}", child, {"root": f"ORDER:{ref}"})
    searched = await until_found(worker, "/entities/{retailer}/{type}/{ref}", child)
    assert by_root == searched and (by_root["rootEntityRef"], by_root["status"]) == (ref, "AWAITING_PICK")
    status, audit = await worker.call("get", "/entities/{retailer}/{type}/{ref}/audit", path=child)
    assert status == 200 and audit["rootEntityRef"] == ref and audit["records"]


# --- workflows ----------------------------------------------------------------------------------------------


async def test_workflows_are_listed_with_their_files(worker: Worker) -> None:
    status, body = await worker.call("get", "/workflows")
    assert status == 200
    rows = {(w["retailerId"], w["entityType"], w["entitySubtype"]): w for w in body["workflows"]}
    order = rows[("1", "ORDER", "HD")]
    assert order["name"] == "ORDER::HD" and order["rulesets"] > 0 and order["latest"] is True
    assert order["file"].endswith("order_hd.yaml")
    assert ("1", "FULFILMENT", "HD") in rows


async def test_a_workflow_definition_with_its_versions(worker: Worker) -> None:
    path = {"retailer": "1", "type": "ORDER", "subtype": "HD"}
    status, body = await worker.call("get", "/workflows/{retailer}/{type}/{subtype}", path=path)
    assert status == 200
    assert body["versions"] == ["1.0"] and body["latest"] == body["version"] == "1.0"
    definition = body["workflow"]
    assert (definition["retailerId"], definition["entityType"], definition["name"]) == ("1", "ORDER", "ORDER::HD")
    assert "CREATE" in [rs["name"] for rs in definition["rulesets"]]
    pinned = await worker.call("get", "/workflows/{retailer}/{type}/{subtype}", path=path, query={"version": "1.0"})
    assert pinned == (200, body)


# --- bad requests -------------------------------------------------------------------------------------------

NOT_FOUND = [
    ("/workflows/{retailer}/{type}/{subtype}", {"retailer": "1", "type": "ORDER", "subtype": "XX"}, {},
     ["no workflow for retailer '1', entity type 'ORDER', subtype 'XX'", "1/ORDER/HD v1.0"]),
    ("/workflows/{retailer}/{type}/{subtype}", {"retailer": "1", "type": "ORDER", "subtype": "HD"},
     {"version": "9.9"}, ["version '9.9'", "loaded versions: 1.0"]),
    ("/entities/{retailer}/{type}/{ref}", order_path("NOPE-1"), {}, ["no ORDER 'NOPE-1' for retailer '1'"]),
    ("/entities/{retailer}/{type}/{ref}/audit", order_path("NOPE-1"), {}, ["no ORDER 'NOPE-1'"]),
    ("/entities/{retailer}/{type}/{ref}", order_path("NOPE-1"), {"root": "ORDER:NOPE-0"}, ["is the root right?"]),
]


@pytest.mark.parametrize(("template", "path", "query", "says"), NOT_FOUND)
async def test_unknown_things_are_404_saying_what_is_there(worker: Worker, template: str, path: dict[str, str],
                                                           query: dict[str, str], says: list[str]) -> None:
    status, body = await worker.call("get", template, path=path, query=query)
    assert status == 404
    for text in says:
        assert text in body["error"]


BAD_EVENTS: list[tuple[dict[str, str], Any, int, list[str]]] = [
    ({}, b"", 400, ["request body is empty"]),
    ({}, b"{not json", 400, ["not JSON"]),
    ({}, b"[1, 2]", 400, ["must be a JSON object, got a JSON list"]),
    ({}, {"name": "CREATE", "entityType": "ORDER"}, 400, ["invalid event", "retailerId: field required",
                                                         "entityRef: field required"]),
    ({}, {**create("O-x"), "attributes": "nope"}, 400, ["attributes:"]),
    ({"sync": "maybe"}, create("O-x"), 400, ["?sync='maybe' is not a flag"]),
    ({"sync": "true", "timeout": "0"}, create("O-x"), 400, ["?timeout='0' is out of range", "at most 60"]),
    ({"sync": "true", "timeout": "61"}, create("O-x"), 400, ["?timeout='61' is out of range"]),
    ({"sync": "true", "timeout": "soon"}, create("O-x"), 400, ["?timeout='soon'"]),
    ({}, {**create("O-x"), "entitySubtype": "ZZ"}, 422, ["no workflow for retailer '1'", "subtype 'ZZ'"]),
    ({"sync": "true"}, {"name": "CREATE", "retailerId": "1", "entityType": "ORDER", "entityRef": "O-new"}, 422,
     ["not in the store and the event has no entitySubtype", "add entitySubtype"]),
]


@pytest.mark.parametrize(("query", "body", "code", "says"), BAD_EVENTS)
async def test_bad_events_are_refused_saying_what_is_wrong(worker: Worker, query: dict[str, str], body: Any,
                                                           code: int, says: list[str]) -> None:
    raw = body if isinstance(body, bytes) else None
    status, answer = await worker.call("post", "/events", query=query, raw=raw, body=None if raw is not None else body)
    assert status == code, answer
    for text in says:
        assert text in answer["error"]


async def test_invalid_event_lists_each_field(worker: Worker) -> None:
    status, body = await worker.call("post", "/events", body={"name": "", "retailerId": "1", "entityType": "ORDER"})
    assert status == 400
    assert {f["field"] for f in body["fields"]} == {"name", "entityRef"}


@pytest.mark.parametrize(("template", "query", "says"), [
    ("/entities/{retailer}/{type}/{ref}", {"root": "ORDER"}, "?root='ORDER' must look like TYPE:REF"),
    ("/entities/{retailer}/{type}/{ref}/audit", {"root": ":O-1"}, "must look like TYPE:REF"),
    ("/entities/{retailer}/{type}/{ref}/audit", {"limit": "0"}, "?limit='0' is out of range"),
    ("/entities/{retailer}/{type}/{ref}/audit", {"limit": "ten"}, "whole number from 1 to 10000"),
])
async def test_bad_entity_queries_are_400(worker: Worker, template: str, query: dict[str, str], says: str) -> None:
    status, body = await worker.call("get", template, path=order_path("O-1"), query=query)
    assert status == 400 and says in body["error"]


# --- orchestrator send --sync -------------------------------------------------------------------------------


def send(worker: Worker, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([orchestrator_command(), "send", *args], env=env or worker.env, cwd=REPO, text=True,
                          capture_output=True, timeout=60, check=False)


async def test_cli_send_sync_prints_the_report(worker: Worker) -> None:
    ref = new_ref()
    done = await asyncio.to_thread(send, worker, "CREATE", "--retailer", "1", "--entity-type", "ORDER",
                                   "--subtype", "HD", "--ref", ref, "--attr", "total=10", "--sync")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"CREATE -> ORDER {ref} (retailer 1): SUCCESS   CREATED v0 -> BOOKED v1"
    assert any(line.startswith("  ruleset CREATE") for line in lines)
    assert "  state   CREATED -> BOOKED" in lines
    assert any(line.startswith(f"  sent    CreateFulfilment to FULFILMENT {ref}-F1") for line in lines)


async def test_cli_send_sync_json_and_api_option(worker: Worker) -> None:
    ref = new_ref()
    env = {k: v for k, v in worker.env.items() if k != "ORCH_HTTP_PORT"}  # only --api says where the worker is
    done = await asyncio.to_thread(send, worker, "CREATE", "-r", "1", "-t", "ORDER", "-s", "HD", "--ref", ref,
                                   "--sync", "--json", "--api", worker.base, env=env)
    assert done.returncode == 0, done.stderr
    [report] = orjson.loads(done.stdout)
    assert (report["entityRef"], report["stateAfter"]["status"]) == (ref, "BOOKED")


async def test_cli_send_sync_says_when_no_api_answers_or_the_event_is_refused(worker: Worker) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = await asyncio.to_thread(send, worker, "CREATE", "-r", "1", "-t", "ORDER", "-s", "HD", "--ref", new_ref(),
                                   "--sync", "--api", nowhere)
    assert down.returncode == 1 and f"no worker API answers at {nowhere}" in down.stderr
    refused = await asyncio.to_thread(send, worker, "CREATE", "-r", "1", "-t", "ORDER", "-s", "ZZ", "--ref", "O-z",
                                      "--sync")
    assert refused.returncode == 1 and "422 from POST" in refused.stderr and "subtype 'ZZ'" in refused.stderr
