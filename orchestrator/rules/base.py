"""The rule contract: typed props checked when a workflow loads, a pure ``run`` returning actions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    """What a rule may look at. It is a snapshot: rules change nothing by themselves."""

    event: Event
    entity: Entity
    now: datetime

    def scope(self) -> dict[str, Any]:
        """The names templates and conditions resolve against, in the camelCase of the wire."""
        return {
            "event": self.event.model_dump(by_alias=True),
            "entity": self.entity.model_dump(by_alias=True),
        }


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
