"""The core rule library: SetState, SendEvent, SetAttributes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import Field, field_validator

from orchestrator.rules.actions import Action, EventTarget, SetStatus
from orchestrator.rules.actions import SendEvent as SendEventAction
from orchestrator.rules.actions import SetAttributes as SetAttributesAction
from orchestrator.rules.base import Rule, RuleContext, RuleProps
from orchestrator.rules.templates import Template, TemplateMap


class SetStateProps(RuleProps):
    status: str = Field(min_length=1, description="The status the entity moves to.")


class SetState(Rule[SetStateProps]):
    """Move the entity to ``status`` (which the workflow must declare)."""

    Props = SetStateProps

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        return (SetStatus(self.props.status),)

    def statuses_referenced(self) -> Iterable[str]:
        return (self.props.status,)

    def inline_events(self) -> Iterable[str]:
        return ()


class SendEventProps(RuleProps):
    event_name: str = Field(min_length=1, description="Name of the event to send.")
    entity_type: str | None = Field(
        default=None, description="Target entity type; omit to send to the same entity (runs inline)."
    )
    entity_ref: str | None = Field(
        default=None, description="Target entity ref; may use placeholders such as {entity.rootEntityRef}."
    )
    entity_subtype: str | None = Field(default=None, description="Target entity subtype.")
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Attributes set on the new event; text values may use placeholders."
    )
    forward_attributes: bool = Field(
        default=False, description="Copy the current event's attributes onto the new event first."
    )
    event_type: str = Field(default="NORMAL", description="Type of the event sent.")

    @field_validator("entity_ref")
    @classmethod
    def _placeholders_parse(cls, value: str | None) -> str | None:
        if value is not None:
            Template(value)
        return value

    @field_validator("attributes")
    @classmethod
    def _attribute_placeholders_parse(cls, value: dict[str, Any]) -> dict[str, Any]:
        TemplateMap(value)
        return value


class SendEvent(Rule[SendEventProps]):
    """Send an event: to the same entity it runs inline after the current ruleset; to another entity
    (``entityType`` + ``entityRef``) it goes out on the events topic, keyed by the root entity."""

    Props = SendEventProps

    def __init__(self, props: SendEventProps) -> None:
        super().__init__(props)
        if (props.entity_type is None) != (props.entity_ref is None):
            raise ValueError("entityType and entityRef go together: give both to target another entity")
        self._ref = Template(props.entity_ref) if props.entity_ref is not None else None
        self._attributes = TemplateMap(props.attributes)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        props = self.props
        attributes = dict(ctx.event.attributes) if props.forward_attributes else {}
        attributes.update(props.attributes if self._attributes.is_literal else self._attributes.render(ctx.scope))
        return (SendEventAction(props.event_name, attributes, self._target(ctx), props.event_type),)

    def inline_events(self) -> Iterable[str]:
        return () if self.props.entity_type else (self.props.event_name,)

    def _target(self, ctx: RuleContext) -> EventTarget | None:
        entity_type, template = self.props.entity_type, self._ref
        if template is None or entity_type is None:
            return None
        ref = template.render_with(ctx.lookup)
        event = ctx.event  # the rule runs on the entity its event names
        if entity_type == event.entity_type and ref == event.entity_ref:
            return None
        return EventTarget(entity_type, ref, self.props.entity_subtype)


class SetAttributesProps(RuleProps):
    attributes: dict[str, Any] = Field(default_factory=dict, description="Literal values to set.")
    from_event: bool | list[str] = Field(
        default=False,
        description="Copy the event's attributes: true for all of them, or a list of names.",
    )


class SetAttributes(Rule[SetAttributesProps]):
    """Set entity attributes from the event's attributes and/or literal values (literals win)."""

    Props = SetAttributesProps

    def inline_events(self) -> Iterable[str]:
        return ()

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        source = ctx.event.attributes
        chosen = self.props.from_event
        if chosen is True:
            values = dict(source)
        elif chosen:
            values = {name: source[name] for name in chosen if name in source}
        else:
            values = {}
        values.update(self.props.attributes)
        return (SetAttributesAction(values),) if values else ()


CORE_RULES: tuple[type[Rule], ...] = (SetState, SendEvent, SetAttributes)  # type: ignore[type-arg]
