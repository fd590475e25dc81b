"""Bytes in, events out: parsing input and turning decisions into what the store and Kafka carry."""

from __future__ import annotations

from typing import NamedTuple, cast

import orjson
from pydantic import ValidationError

from orchestrator.engine import Decision
from orchestrator.model import Event, audit_message
from orchestrator.ports import CommitRequest, OutMessage, Record, Topic


class Incoming(NamedTuple):  # a tuple: one per message consumed
    """One consumed message and where it came from (for the DLQ and for logs)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class BadInput(ValueError):
    """Input that can never be processed; ``reason`` is a stable code for the DLQ header."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def dead_letter(topic: str, message: Incoming, reason: str, detail: str) -> Record:
    """The original bytes, with why (a stable ``reason`` code and a message) and where they came from."""
    headers = (
        ("orch.error.reason", reason.encode()),
        ("orch.error.message", detail.encode()),
        ("orch.source.topic", message.topic.encode()),
        ("orch.source.partition", str(message.partition).encode()),
        ("orch.source.offset", str(message.offset).encode()),
    )
    return Record(topic, message.key, message.value or b"", headers)


def parse_event(value: bytes | None) -> Event:
    if not value:
        raise BadInput("EMPTY", "the message has no value; send the event as a JSON object")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise BadInput("NOT_JSON", f"the message is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput("NOT_AN_OBJECT", f"the event must be a JSON object, got {type(data).__name__}")
    try:
        return cast(Event, Event.__pydantic_validator__.validate_python(data))  # model_validate(): 0.4 µs more
    except ValidationError as exc:
        raise BadInput("INVALID_EVENT", _explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{field}: {err['msg'].lower()}")
    return "invalid event: " + "; ".join(parts)


def commit_request(decision: Decision) -> CommitRequest:
    before, event = decision.before, decision.event
    audit = audit_message(decision.audit) if decision.audit else b""
    # the events sent come first, in the order sent (BatchProcessor pairs them with decision.outgoing)
    outbox = [OutMessage(Topic.EVENTS, out.partition_key, out.to_json(), out.id) for out in decision.outgoing]
    root = before.root_key
    root_key = root.tag.encode()
    if audit:
        outbox.append(OutMessage(Topic.AUDIT, root_key, audit))
    if decision.webhooks:
        outbox.extend(OutMessage(Topic.WEBHOOKS, root_key, webhook_job(decision, i))
                      for i in range(len(decision.webhooks)))
    return CommitRequest(
        event_id=event.id,
        root=root,
        entity_key=before.key,
        expected_version=before.version,
        entity=decision.after.to_state_json() if decision.after is not None else None,
        audit=audit,
        outbox=outbox,
        child_links=[(link.parent, link.child, link.status) for link in decision.child_links],
    )


def webhook_job(decision: Decision, index: int) -> bytes:
    """A webhook call as the webhook worker receives it: what to POST and which entity to audit it on."""
    call, entity = decision.webhooks[index], decision.after or decision.before
    return orjson.dumps({
        "id": f"{decision.event.id}/webhook/{index}", "url": call.url, "body": call.body,
        "secretEnv": call.secret_env, "headers": call.headers, "eventId": decision.event.id,
        "eventName": decision.event.name, "entity": {
            "retailerId": entity.retailer_id, "entityType": entity.entity_type, "entityRef": entity.entity_ref,
            "rootEntityType": entity.root_entity_type, "rootEntityRef": entity.root_entity_ref},
    })
