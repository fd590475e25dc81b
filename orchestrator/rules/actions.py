"""What rules return. Rules never do I/O: they describe changes and the engine applies them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SetStatus:
    status: str


@dataclass(frozen=True, slots=True)
class SetAttributes:
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventTarget:
    """Another entity, under the same root unless the target is the root itself."""

    entity_type: str
    entity_ref: str
    entity_subtype: str | None = None


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Send ``name``; with no target it goes to the same entity and runs inline."""

    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    target: EventTarget | None = None
    event_type: str = "NORMAL"


Action = SetStatus | SetAttributes | SendEvent
