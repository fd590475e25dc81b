"""`orchestrator dlq`: what could not be processed, why, and where it came from."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition

from orchestrator.app.settings import Settings
from orchestrator.cli.render import emit_json


def _entry(message: Any) -> dict[str, Any]:
    headers = {k: v.decode(errors="replace") for k, v in (message.headers or ())}
    return {
        "reason": headers.get("orch.error.reason", ""),
        "message": headers.get("orch.error.message", ""),
        "source": {
            "topic": headers.get("orch.source.topic", ""),
            "partition": int(headers.get("orch.source.partition", "-1")),
            "offset": int(headers.get("orch.source.offset", "-1")),
        },
        "key": message.key.decode(errors="replace") if message.key else None,
        "value": (message.value or b"").decode(errors="replace"),
        "dlqOffset": message.offset,
    }


async def _behind(consumer: AIOKafkaConsumer, tps: list[TopicPartition], ends: dict[TopicPartition, int]) -> bool:
    for tp in tps:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False


async def read_dlq(settings: Settings, timeout_s: float) -> list[dict[str, Any]]:
    """Every message on {prefix}.dlq, oldest first."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(settings.dlq_topic) or set()
        tps = [TopicPartition(settings.dlq_topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        entries: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        # Some brokers (Tansu) report the end as the last batch's start + 1: reaching it is not the end, so
        # read on until a poll past it comes back empty.
        while loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=300)
            entries.extend(_entry(m) for ms in batches.values() for m in ms)
            if not batches and not await _behind(consumer, tps, ends):
                break
        return entries
    finally:
        await consumer.stop()


def dlq(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    timeout: float = typer.Option(10.0, help="Give up reading after this many seconds."),
) -> None:
    """List dead-lettered messages: the reason, the source topic/partition/offset and the original bytes."""
    entries = asyncio.run(read_dlq(Settings(), timeout))
    if as_json:
        emit_json(entries)
        return
    if not entries:
        typer.echo("the DLQ is empty")
        return
    for e in entries:
        src = e["source"]
        typer.echo(f"{e['reason']}: {e['message']}\n  from {src['topic']}[{src['partition']}]@{src['offset']}"
                   f"  value: {e['value'][:200]}")
