"""What the limit and the naive contestant share: arguments, Redis keys and the records they write.

Both keep one state value per entity (``{prefix}:{root}:e:TYPE:REF``, a JSON object whose ``v`` counts the
events applied to it) and one audit stream per entity, as the orchestrator does, so that the harness can
check that every input event was applied exactly once (an order ends at ``v`` 1, a fulfilment at 5)."""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import orjson

from bench.config import TopicNames


@dataclass(frozen=True)
class Args(TopicNames):
    bootstrap: str
    redis_url: str
    prefix: str
    group: str
    batch_size: int
    batch_wait_ms: int
    data_dir: str  # where a Faust contestant keeps its directory (not the one it was started in)


def parse_args(description: str) -> Args:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--redis-url", required=True)
    p.add_argument("--prefix", required=True, help="topics {prefix}.events|audit|sink and Redis keys {prefix}:…")
    p.add_argument("--group", required=True)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--batch-wait-ms", type=int, default=10)
    p.add_argument("--data-dir", default=tempfile.gettempdir())
    a = p.parse_args()
    return Args(a.bootstrap, a.redis_url, a.prefix, a.group, a.batch_size, a.batch_wait_ms, a.data_dir)


@dataclass(frozen=True, slots=True)
class Parsed:
    event_id: str
    name: str
    state_key: str
    audit_key: str


def parse(prefix: str, value: bytes) -> Parsed:
    e: dict[str, Any] = orjson.loads(value)
    root = f"{e['retailerId']}:{e.get('rootEntityType') or e['entityType']}:{e.get('rootEntityRef') or e['entityRef']}"
    entity = f"{e['entityType']}:{e['entityRef']}"
    return Parsed(e["id"], e["name"], f"{prefix}:{{{root}}}:e:{entity}", f"{prefix}:{{{root}}}:audit:{entity}")


def next_state(event: Parsed, raw: bytes | None) -> tuple[int, bytes]:
    version = 1 + (int(orjson.loads(raw)["v"]) if raw else 0)
    return version, orjson.dumps({"v": version, "lastEventId": event.event_id, "lastEvent": event.name})


def audit_entry(event: Parsed, version: int) -> bytes:
    return orjson.dumps({"eventId": event.event_id, "eventName": event.name, "category": "EVENT",
                         "status": "SUCCESS", "version": version, "at": time.time()})


def output_event(event: Parsed) -> bytes:
    return orjson.dumps({"id": f"{event.event_id}/out", "eventId": event.event_id, "name": f"{event.name}Done"})
