"""End to end, as a newcomer meets it: `orchestrator dev` (what `make run` starts) boots the embedded broker and
Redis, an order is published with a plain aiokafka producer, and state, audit and DLQ are read with the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from orchestrator.adapters.servers import answers, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("orchestrator"))
DEADLINE_S = 90.0


class Stack:
    def __init__(self, env: dict[str, str], process: subprocess.Popen[bytes], log: Path) -> None:
        self.env, self.process, self.log = env, process, log
        self.bootstrap = env["ORCH_KAFKA_BOOTSTRAP"]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"orchestrator {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def entity(self, entity_type: str, ref: str, retailer: str = "1") -> dict[str, Any] | None:
        done = self.cli("entity", entity_type, ref, "--retailer", retailer, "--json", check=False)
        return json.loads(done.stdout) if done.returncode == 0 else None

    def wait_for(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; worker log:\n{self.log.read_text()[-3000:]}")

    def wait_status(self, entity_type: str, ref: str, status: str, retailer: str = "1") -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            found = self.entity(entity_type, ref, retailer)
            return found if found and found["status"] == status else None

        result: dict[str, Any] = self.wait_for(f"{entity_type} {ref} to reach {status}", probe)
        return result


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("e2e")
    rulesets = work / "rulesets"
    shutil.copytree(ROOT / "rulesets", rulesets)
    shutil.copy(ROOT / "tests/fixtures/workflows/fluent/order_cc.json", rulesets / "someone_elses_order_cc.json")
    http_port, kafka_port, redis_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")} | {
        "ORCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}", "ORCH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "ORCH_HTTP_PORT": str(http_port), "ORCH_RULESETS": str(rulesets), "ORCH_DATA_DIR": str(work / "data"),
    }
    log = work / "dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen([CLI, "dev"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    running = Stack(env, process, log)
    try:
        running.wait_for("GET /health to answer 200", lambda: process.poll() is None and _healthy(http_port))
        yield running
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does
        process.wait(timeout=60)
    assert not answers("127.0.0.1", kafka_port) and not answers("127.0.0.1", redis_port), \
        "Ctrl-C must stop the broker and Redis that `orchestrator dev` started"


def event(name: str, entity_type: str, ref: str, *, retailer: str = "1", root: str | None = None,
          **fields: Any) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "name": name, "retailerId": retailer, "entityType": entity_type,
            "entityRef": ref, **fields}
    if root:
        body |= {"rootEntityType": "ORDER", "rootEntityRef": root}
    return body


async def publish(stack: Stack, *events: dict[str, Any] | bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        for item in events:
            if isinstance(item, bytes):
                await producer.send_and_wait("orchestrator.events", item, key=key)
                continue
            root_type, root_ref = item.get("rootEntityType", item["entityType"]), item.get("rootEntityRef",
                                                                                            item["entityRef"])
            partition_key = f"{item['retailerId']}:{root_type}:{root_ref}".encode()
            await producer.send_and_wait("orchestrator.events", orjson.dumps(item), key=partition_key)
    finally:
        await producer.stop()


async def test_an_order_goes_from_created_to_complete_with_every_step_audited(stack: Stack) -> None:
    order = f"O-{uuid.uuid4().hex[:8]}"
    await publish(stack, event("CREATE", "ORDER", order, entitySubtype="HD", attributes={"total": 42.5}))
    booked = stack.wait_status("ORDER", order, "BOOKED")
    assert booked["attributes"] == {"total": 42.5} and booked["version"] == 1
    stack.wait_status("FULFILMENT", f"{order}-F1", "AWAITING_PICK")

    steps = ["Picking", "Packed", "CourierBooked", "Shipped", "Delivered"]
    await publish(stack, *(event(s, "FULFILMENT", f"{order}-F1", root=order) for s in steps))
    complete = stack.wait_status("ORDER", order, "COMPLETE")
    assert complete["version"] == 6, "CREATE + five fulfilment notifications, CompleteOrder ran inline"

    audit = stack.cli_json("audit", "ORDER", order, "--retailer", "1")
    transitions = [(r["data"]["from"], r["data"]["to"]) for r in audit if r["category"] == "STATE"]
    assert transitions == [("CREATED", "BOOKED"), ("BOOKED", "PICKING"), ("PICKING", "PACKED"),
                           ("PACKED", "AWAITING_COURIER"), ("AWAITING_COURIER", "SHIPPED"),
                           ("SHIPPED", "DELIVERED"), ("DELIVERED", "COMPLETE")]

    tailed = stack.cli("tail", "--from-beginning", "--entity", f"ORDER:{order}", "--category", "STATE",
                       "--count", "7", "--timeout", "30", "--json").stdout.splitlines()
    assert [json.loads(line)["name"] for line in tailed][-1] == "COMPLETE"


async def test_duplicate_unmatched_and_malformed_events(stack: Stack) -> None:
    order = f"O-{uuid.uuid4().hex[:8]}"
    create = event("CREATE", "ORDER", order, entitySubtype="HD")
    await publish(stack, create)
    stack.wait_status("ORDER", order, "BOOKED")

    marker = event("NothingHandlesThis", "ORDER", order)
    await publish(stack, create, b"{this is not json", marker, key=f"1:ORDER:{order}".encode())

    def marker_audited() -> list[dict[str, Any]] | None:
        records: list[dict[str, Any]] = stack.cli_json("audit", "ORDER", order, "--retailer", "1")
        return records if any(r["eventId"] == marker["id"] for r in records) else None

    records = stack.wait_for("the unmatched event's audit record", marker_audited)
    [no_match] = [r for r in records if r["eventId"] == marker["id"]]
    assert no_match["status"] == "NO_MATCH"
    assert [r["eventId"] for r in records if r["category"] == "EVENT"].count(create["id"]) == 1
    entity = stack.entity("ORDER", order)
    assert entity is not None and entity["version"] == 1, "the duplicate and the unmatched event change nothing"

    def dead_lettered() -> list[dict[str, Any]]:
        return [d for d in stack.cli_json("dlq") if d["value"] == "{this is not json"]

    [dead] = stack.wait_for("the malformed event on the DLQ", dead_lettered)
    assert dead["reason"] == "NOT_JSON" and dead["source"]["topic"] == "orchestrator.events"


async def test_someone_elses_fluent_workflow_file_runs_unchanged(stack: Stack) -> None:
    order = f"CC-{uuid.uuid4().hex[:8]}"
    sent = stack.cli("send", "CREATE", "--retailer", "2", "--entity-type", "ORDER", "--subtype", "CC",
                     "--ref", order)
    assert f"sent CREATE to ORDER {order}" in sent.stdout
    stack.wait_status("ORDER", order, "BOOKED", retailer="2")
    for step in ("ReadyForCollection", "CustomerCollected"):
        stack.cli("send", step, "--retailer", "2", "--entity-type", "ORDER", "--ref", order)
    done = stack.wait_status("ORDER", order, "COMPLETE", retailer="2")
    assert done["workflowName"] == "ORDER::CC"
