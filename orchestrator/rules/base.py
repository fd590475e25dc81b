"""The rule contract: typed props checked when a workflow loads, a pure ``run`` returning actions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from orchestrator.model import Entity, Event
from orchestrator.rules.actions import Action


class RuleProps(BaseModel):
    """Base for rule props: camelCase in workflow files, unknown keys refused so typos surface at load."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule may look at. It is a snapshot: rules change nothing by themselves.

    ``scope`` holds the JSON views conditions, templates and code see: ``event``, ``entity``, ``context``,
    ``result`` (the previous rule's output) and ``results`` (outputs by rule id).
    ``children`` maps each child's ``TYPE:REF`` to its status.
    """

    event: Event
    entity: Entity
    now: datetime
    scope: Mapping[str, Any] = field(default_factory=dict)
    children: Mapping[str, str] = field(default_factory=dict)

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

    def statuses_referenced(self) -> Iterable[str]:
        """Statuses this rule can move an entity to, checked against the workflow's declared statuses."""
        return ()

    def props_json(self) -> dict[str, Any]:
        return self.props.model_dump(by_alias=True, exclude_defaults=True)
