"""What the engine decided for one event: the new state, events to send, and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.model import AuditEntry, Entity, EntityKey, Event, Outcome
from orchestrator.rules import CallWebhook


@dataclass(frozen=True, slots=True)
class ChildLink:
    """The parent's index of its children: ``child`` (``TYPE:REF``) is now in ``status``."""

    parent: EntityKey
    child: str
    status: str


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a setattr call per field, per event
class Decision:
    event: Event
    outcome: Outcome
    before: Entity
    after: Entity | None  # None: the entity is left as it was (no match, failure, loop limit)
    outgoing: tuple[Event, ...]  # events for other entities, sent on the events topic
    audit: tuple[AuditEntry, ...]
    rulesets_run: int
    child_links: tuple[ChildLink, ...] = ()
    webhooks: tuple[CallWebhook, ...] = ()

    @property
    def changes_state(self) -> bool:
        return self.after is not None
