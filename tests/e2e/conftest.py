"""The stack `make run` starts (`orchestrator dev` in a subprocess, on free ports), shared by the e2e tests of
one module, and helpers to publish with a plain aiokafka producer and to read through the CLI."""

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
def stack_env() -> dict[str, str]:
    """Extra environment for the stack; EXTRA_RULESETS names a folder of workflow files to add."""
    return {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, stack_env: dict[str, str]) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("e2e")
    rulesets = work / "rulesets"
    shutil.copytree(ROOT / "rulesets", rulesets)
    shutil.copy(ROOT / "tests/fixtures/workflows/fluent/order_cc.json", rulesets / "someone_elses_order_cc.json")
    extra = dict(stack_env)
    if "EXTRA_RULESETS" in extra:
        shutil.copytree(extra.pop("EXTRA_RULESETS"), rulesets / "extra")
    http_port, kafka_port, redis_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")} | {
        "ORCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}", "ORCH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "ORCH_HTTP_PORT": str(http_port), "ORCH_RULESETS": str(rulesets), "ORCH_DATA_DIR": str(work / "data"),
    } | extra
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
