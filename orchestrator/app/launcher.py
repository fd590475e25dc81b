"""`orchestrator dev` / `make run`: the embedded stack — a Tansu broker, a Redis, the topics, a worker.

Servers already answering at ORCH_KAFKA_BOOTSTRAP / ORCH_REDIS_URL are used as they are; otherwise they are
started here, listening exactly where the configuration says, and stopped again when the worker stops.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import ExitStack

from orchestrator.adapters.servers import (
    ManagedProcess,
    ensure_topics,
    kafka_answers,
    parse_bootstrap,
    parse_redis_url,
    redis_answers,
    start_redis,
    start_tansu,
)
from orchestrator.app.settings import Settings
from orchestrator.app.worker import run_worker
from orchestrator.ports import Workflows


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _redis(settings: Settings) -> ManagedProcess | None:
    host, port = parse_redis_url(settings.redis_url)
    if redis_answers(host, port):
        _say(f"  redis   using the server at {settings.redis_url}")
        return None
    process = start_redis(settings.data_dir, host, port)
    _say(f"  redis   started {settings.redis_url} (log {process.log_path})")
    return process


def _kafka(settings: Settings) -> ManagedProcess | None:
    host, port = parse_bootstrap(settings.kafka_bootstrap)[0]
    if kafka_answers(host, port):
        _say(f"  kafka   using the broker at {settings.kafka_bootstrap}")
        return None
    process = start_tansu(settings.data_dir, host, port)
    _say(f"  kafka   started Tansu at {settings.kafka_bootstrap} (in memory; log {process.log_path})")
    return process


def run_dev(settings: Settings, workflows: Workflows) -> None:
    """Bring the stack up, run a worker in the foreground, and tear down what was started (Ctrl-C)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _say("orchestrator dev: the embedded stack")
    with ExitStack() as started:
        for process in (_redis(settings), _kafka(settings)):
            if process is not None:
                started.callback(process.stop)
        partitions = asyncio.run(ensure_topics(settings.kafka_bootstrap, settings.topics, settings.partitions))
        _say("  topics  " + ", ".join(f"{t} ({n} partitions)" for t, n in sorted(partitions.items())))
        _say(f"  worker  health on http://127.0.0.1:{settings.http_port}/health; "
             f"workflows: {workflows.summary()}")
        _say("  try     orchestrator tail   (in another terminal; the README walks an order through)\n")
        run_worker(settings, workflows)
