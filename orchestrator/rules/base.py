"""The rule contract: typed props checked when a workflow loads, a pure ``run`` returning actions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from orchestrator.model import Entity, Event
from orchestrator.rules.actions import Action
from orchestrator.rules.templates import Path, lookup_path

# Fields that name an event or an entity: no rule changes them, so a placeholder reading one (most do:
# ``{entity.rootEntityRef}``) is answered from the model, without building the scope's views. By wire name.
IDENTITY_FIELDS = {to_camel(name): name for name in (
    "retailer_id", "entity_type", "entity_subtype", "entity_ref", "root_entity_type", "root_entity_ref",
    "parent_entity_type", "parent_entity_ref")}


class RuleProps(BaseModel):
    """Base for rule props: camelCase in workflow files, unknown keys refused so typos surface at load."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class RuleContext:
    """What a rule may look at. It is a snapshot: rules change nothing by themselves.

    ``scope`` holds the JSON views conditions, templates and code see: ``event``, ``entity``, ``context``,
    ``result`` (the previous rule's output) and ``results`` (outputs by rule id).
    ``children`` maps each child's ``TYPE:REF`` to its status. The engine builds ``entity`` only when a rule
    reads it, and shares one context between the rules of a ruleset: ``entity`` and ``scope`` always show the
    state the rules before left; it passes ``identity``, the entity as the event found it, whose identity
    fields are the current entity's.
    """

    __slots__ = ("_entity", "_entity_of", "_identity", "_scope", "_scope_of", "children", "event", "now")

    def __init__(
        self,
        event: Event,
        entity: Entity | None = None,
        now: datetime | None = None,
        scope: Mapping[str, Any] | None = None,
        children: Mapping[str, str] | None = None,
        *,
        entity_of: Callable[[], Entity] | None = None,
        scope_of: Callable[[], Mapping[str, Any]] | None = None,
        identity: Entity | None = None,
    ) -> None:
        self.event = event
        self.now = now if now is not None else datetime.now(UTC)
        self.children: Mapping[str, str] = children or {}
        self._entity, self._entity_of = entity, entity_of
        self._identity = identity if identity is not None else entity
        self._scope, self._scope_of = scope, scope_of

    @property
    def entity(self) -> Entity:
        if self._entity_of is not None:  # the engine's: the entity as the rules before this one left it
            return self._entity_of()
        if self._entity is None:
            raise ValueError("RuleContext needs an entity")
        return self._entity

    @property
    def scope(self) -> Mapping[str, Any]:
        if self._scope is None:
            self._scope = self._scope_of() if self._scope_of is not None else {}
        return self._scope

    def lookup(self, path: Path) -> Any:
        """The scope's value at ``path`` (None when a part is missing). An event's or entity's identity field
        is read from the model instead: the same value, without building the scope."""
        if len(path) == 2 and (field := IDENTITY_FIELDS.get(path[1])) is not None:
            if path[0] == "event":
                return getattr(self.event, field)
            if path[0] == "entity" and self._identity is not None:
                return getattr(self._identity, field)
        return lookup_path(self.scope, path)

    @property
    def context(self) -> Mapping[str, Any]:
        return self.entity.context

    @property
    def result(self) -> Any:
        return self.scope.get("result")


P = TypeVar("P", bound=RuleProps)


class Rule(ABC, Generic[P]):
    """A named step of a ruleset. Subclasses set ``Props`` and implement ``run``."""

    Props: ClassVar[type[RuleProps]]
    description: ClassVar[str] = ""

    def __init__(self, props: P) -> None:
        self.props = props

    @abstractmethod
    def run(self, ctx: RuleContext) -> Sequence[Action]:
        """Decide what to change; must not do I/O or keep state between calls."""

    def inline_events(self) -> Iterable[str] | None:
        """Names of the events this rule may send to its own entity (inline); None when it cannot say (code,
        plugins) — then the engine assumes it may send any."""
        return None

    def statuses_referenced(self) -> Iterable[str]:
        """Statuses this rule can move an entity to, checked against the workflow's declared statuses."""
        return ()

    def props_json(self) -> dict[str, Any]:
        """The props as written (camelCase, defaults left out), computed once: props never change."""
        cached: dict[str, Any] | None = self.__dict__.get("_props_json")
        if cached is None:
            cached = self.__dict__["_props_json"] = self.props.model_dump(
                mode="json", by_alias=True, exclude_defaults=True)
        return cached
