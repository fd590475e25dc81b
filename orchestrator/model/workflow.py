"""Workflow definitions, in Fluent's workflow JSON shape (camelCase, unknown keys ignored)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.model._base import WireModel
from orchestrator.model.event import NORMAL


class RuleSpec(WireModel):
    """A rule as written: ``acme.core.SetState`` resolves to the rule ``SetState``."""

    name: str = Field(min_length=1)
    props: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, description="Names this rule for `after` and results; default: its name.")
    condition: str | None = Field(default=None, description="The rule runs only when this condition holds.")
    after: list[str] = Field(default_factory=list, description="Ids of rules this one must run after.")

    @property
    def rule_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class Trigger(WireModel):
    status: str = Field(min_length=1)


class StatusDef(WireModel):
    name: str = Field(min_length=1)
    entity_type: str | None = None
    category: str | None = None


class Ruleset(WireModel):
    """Handles the event ``name`` for entities of ``type``/``subtype`` in one of the ``triggers`` statuses."""

    name: str = Field(min_length=1, description="The event name this ruleset handles.")
    type: str = Field(min_length=1, description="Entity type.")
    subtype: str | None = Field(default=None, description="Entity subtype; none means any.")
    event_type: str = NORMAL
    description: str | None = None
    rules: list[RuleSpec] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    user_actions: list[Any] = Field(default_factory=list)
    condition: str | None = Field(default=None, description="Matches only when this condition holds.")
    is_else: bool = Field(
        default=False, alias="else",
        description="Matches when no other ruleset for the same event, type, subtype and status matched.",
    )

    @property
    def trigger_statuses(self) -> tuple[str, ...]:
        return tuple(t.status for t in self.triggers)


class WorkflowDefinition(WireModel):
    """One workflow per (retailerId, entityType, entitySubtype), versioned."""

    retailer_id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    entity_type: str = Field(min_length=1)
    entity_subtype: str = Field(min_length=1)
    name: str = ""
    description: str | None = None
    rulesets: list[Ruleset] = Field(default_factory=list)
    statuses: list[StatusDef] = Field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.name or f"{self.entity_type}::{self.entity_subtype}"

    def declared_statuses(self, entity_type: str) -> frozenset[str]:
        """Statuses declared for ``entity_type`` (statuses that name no type count for every type)."""
        return frozenset(
            s.name for s in self.statuses if s.entity_type is None or s.entity_type == entity_type
        )
