"""`orchestrator send` publishes events; `orchestrator tail` follows the audit topic."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import orjson
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from orchestrator.adapters.kafka_publisher import KafkaPublisher
from orchestrator.app.settings import Settings
from orchestrator.cli.render import audit_line, emit_json
from orchestrator.cli.trigger import TriggerError, post_sync, report_text
from orchestrator.model import AuditRecord, Event, read_audit_message
from orchestrator.model.report import ExecutionReport
from orchestrator.ports import Record


def _attr(pair: str) -> tuple[str, Any]:
    name, sep, raw = pair.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"--attr takes NAME=VALUE (got {pair!r})")
    try:
        return name, orjson.loads(raw)
    except orjson.JSONDecodeError:
        return name, raw


def _from_flags(name: str | None, retailer: str | None, entity_type: str | None, ref: str | None,
                subtype: str | None, root: str | None, attrs: list[str], event_id: str | None,
                event_type: str) -> dict[str, Any]:
    missing = [flag for flag, v in (("NAME", name), ("--retailer", retailer), ("--entity-type", entity_type),
                                    ("--ref", ref)) if not v]
    if missing:
        raise typer.BadParameter(f"missing {', '.join(missing)} (or give --file with the event JSON)")
    data: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()), "name": name, "type": event_type, "retailerId": retailer,
        "entityType": entity_type, "entityRef": ref, "attributes": dict(_attr(a) for a in attrs),
        "source": "orchestrator-cli",
    }
    if subtype:
        data["entitySubtype"] = subtype
    if root:
        root_type, sep, root_ref = root.partition(":")
        if not sep:
            raise typer.BadParameter(f"--root must look like TYPE:REF, e.g. ORDER:O-1 (got {root!r})")
        data |= {"rootEntityType": root_type, "rootEntityRef": root_ref}
    return data


def _from_file(path: Path) -> list[dict[str, Any]]:
    try:
        loaded = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from None
    items = loaded if isinstance(loaded, list) else [loaded]
    for item in items:
        if isinstance(item, dict):
            item.setdefault("id", str(uuid.uuid4()))
    return items


def _validated(items: list[dict[str, Any]]) -> list[Event]:
    try:
        return [Event.model_validate(item) for item in items]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(f"not a valid event: {problems}") from None


async def _publish(settings: Settings, events: list[Event]) -> None:
    async with KafkaPublisher(settings.kafka_bootstrap, client_id="orchestrator-cli") as publisher:
        await publisher.publish([Record(settings.events_topic, e.partition_key, e.to_json()) for e in events])


def send(
    name: str | None = typer.Argument(None, help="Event name, e.g. CREATE."),
    retailer: str | None = typer.Option(None, "--retailer", "-r", help="Retailer id."),
    entity_type: str | None = typer.Option(None, "--entity-type", "-t", help="Entity type, e.g. ORDER."),
    ref: str | None = typer.Option(None, "--ref", help="Entity ref, e.g. O-1001."),
    subtype: str | None = typer.Option(None, "--subtype", "-s", help="Entity subtype (needed for a new entity)."),
    root: str | None = typer.Option(None, "--root", help="Root entity as TYPE:REF, for a child entity."),
    attr: list[str] = typer.Option([], "--attr", "-a", help="Attribute NAME=VALUE (VALUE parsed as JSON if it can)."),
    event_id: str | None = typer.Option(None, "--id", help="Event id (default: a new UUID)."),
    event_type: str = typer.Option("NORMAL", "--type", help="Event type."),
    file: Path | None = typer.Option(None, "--file", "-f", help="JSON file with one event or a list of events."),
    as_json: bool = typer.Option(False, "--json", help="Print the sent events (with --sync: the reports) as JSON."),
    sync: bool = typer.Option(False, "--sync", help="Send through a worker's API, wait for the execution and print "
                                                    "its report: rulesets, rules, states, events sent."),
    api: str | None = typer.Option(None, "--api", help="Worker API for --sync (default ORCH_API_URL, else "
                                                       "http://127.0.0.1:ORCH_HTTP_PORT)."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, max=60, help="Seconds --sync waits per event."),
) -> None:
    """Publish an event to {prefix}.events, keyed by its root entity; with --sync, wait for its report."""
    settings = Settings()
    items = _from_file(file) if file else [
        _from_flags(name, retailer, entity_type, ref, subtype, root, attr, event_id, event_type)]
    events = _validated(items)
    if sync:
        _send_sync(api or settings.api_base_url, events, timeout, as_json)
        return
    asyncio.run(_publish(settings, events))
    if as_json:
        emit_json([e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in events])
        return
    for e in events:
        typer.echo(f"sent {e.name} to {e.entity_type} {e.entity_ref} (retailer {e.retailer_id}) "
                   f"id={e.id} on {settings.events_topic}")


def _send_sync(api_url: str, events: list[Event], timeout: float, as_json: bool) -> None:
    """One event at a time, in order: each report is printed once that event has been processed."""
    reports = []
    for event in events:
        try:
            reports.append(post_sync(api_url, event, timeout))
        except TriggerError as exc:
            typer.echo(f"event {event.id} ({event.name}): {exc}", err=True)
            raise typer.Exit(1) from None
        if not as_json:
            typer.echo(report_text(ExecutionReport.model_validate(reports[-1])))
    if as_json:
        emit_json(reports)


def _matches(record: AuditRecord, retailer: str | None, entity: str | None, status: str | None,
             category: str | None) -> bool:
    if retailer and record.retailer_id != retailer:
        return False
    if entity:
        etype, _, eref = entity.rpartition(":") if ":" in entity else ("", "", entity)
        if record.entity_ref != eref or (etype and record.entity_type != etype):
            return False
    if status and record.status.value != status.upper():
        return False
    return not (category and record.category.value != category.upper())


async def _tail(settings: Settings, from_beginning: bool, count: int | None, timeout: float | None,
                **filters: Any) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    shown = 0
    try:
        partitions = consumer.partitions_for_topic(settings.audit_topic) or set()
        tps = [TopicPartition(settings.audit_topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await (consumer.seek_to_beginning(*tps) if from_beginning else consumer.seek_to_end(*tps))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        while count is None or shown < count:
            wait_ms = 500 if deadline is None else max(0, int((deadline - loop.time()) * 1000))
            if deadline is not None and wait_ms == 0:
                break
            batches = await consumer.getmany(timeout_ms=min(wait_ms, 500))
            records = (r for ms in batches.values() for m in ms for r in _records(m.value))
            for record in records:
                shown += _show(record, filters)
                if count is not None and shown >= count:
                    break
    finally:
        await consumer.stop()
    return shown


def _records(value: bytes | None) -> list[AuditRecord]:
    """An audit message's records: one event's, in order (a message that is not one is skipped)."""
    try:
        return read_audit_message(value or b"")
    except ValidationError:
        return []


def _show(record: AuditRecord, filters: dict[str, Any]) -> int:
    if not _matches(record, **{k: v for k, v in filters.items() if k != "as_json"}):
        return 0
    if filters["as_json"]:
        typer.echo(record.to_json().decode())
    else:
        typer.echo(audit_line(record))
    return 1


def tail(
    retailer: str | None = typer.Option(None, "--retailer", "-r", help="Only this retailer."),
    entity: str | None = typer.Option(None, "--entity", "-e", help="Only this entity: REF or TYPE:REF."),
    status: str | None = typer.Option(None, "--status", help="Only this status: SUCCESS, NO_MATCH, FAILED…"),
    category: str | None = typer.Option(None, "--category", help="Only EVENT, RULESET, RULE, STATE, SENT…"),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Replay the topic from its start."),
    count: int | None = typer.Option(None, "--count", "-n", help="Stop after this many records."),
    timeout: float | None = typer.Option(None, "--timeout", help="Stop after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="One JSON audit record per line."),
) -> None:
    """Follow {prefix}.audit: every step of every event, as it happens. Ctrl-C stops."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_tail(Settings(), from_beginning, count, timeout, retailer=retailer, entity=entity,
                          status=status, category=category, as_json=as_json))
