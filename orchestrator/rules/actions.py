"""What rules return. Rules never do I/O: they describe changes and the engine applies them.

Plain slotted dataclasses, not frozen ones: a frozen dataclass costs a setattr call per field and the engine
builds several per event; nothing keeps or mutates an action after the rule returns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SetStatus:
    status: str


@dataclass(slots=True)
class SetAttributes:
    values: dict[str, Any]


@dataclass(slots=True)
class EventTarget:
    """Another entity, under the same root unless the target is the root itself."""

    entity_type: str
    entity_ref: str
    entity_subtype: str | None = None


@dataclass(slots=True)
class SendEvent:
    """Send ``name``; with no target it goes to the same entity and runs inline.

    ``creates_child``: the target becomes a child of this entity (linked both ways, same root).
    """

    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    target: EventTarget | None = None
    event_type: str = "NORMAL"
    creates_child: bool = False


@dataclass(slots=True)
class SetContext:
    """Write keys of the workflow-level context kept with the entity."""

    values: dict[str, Any]


@dataclass(slots=True)
class Output:
    """The rule's result: later rules read it as ``result`` (the previous rule's) or ``results.<id>``."""

    value: Any


@dataclass(slots=True)
class Note:
    """A custom audit record."""

    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CallWebhook:
    """POST to ``url`` after the event's atomic commit (via the outbox), signed, retried, audited."""

    url: str
    body: dict[str, Any]
    secret_env: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class BusinessError(Exception):
    """Raised by a rule on purpose: the event fails, the entity stays as it was, the audit says why."""


Action = SetStatus | SetAttributes | SendEvent | SetContext | Output | Note | CallWebhook
