"""The rule library beyond the core three: context, children, iteration, logging, webhooks, failure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import Field, field_validator

from orchestrator.rules.actions import (
    Action,
    BusinessError,
    CallWebhook,
    EventTarget,
    Note,
    SendEvent,
)
from orchestrator.rules.actions import (
    SetContext as SetContextAction,
)
from orchestrator.rules.base import Rule, RuleContext, RuleProps
from orchestrator.rules.templates import Template, TemplateMap, lookup


def _template(value: str | None) -> str | None:
    if value is not None:
        Template(value)
    return value


def _templates(values: dict[str, Any]) -> dict[str, Any]:
    TemplateMap(values)
    return values


class SetContextProps(RuleProps):
    values: dict[str, Any] = Field(default_factory=dict, description="Keys to set; strings may use placeholders.")
    result_as: str | None = Field(default=None, description="Also store the previous rule's result under this key.")

    _check = field_validator("values")(_templates)


class SetContext(Rule[SetContextProps]):
    """Write the workflow-level context kept with the entity (readable as `context.<key>` afterwards)."""

    Props = SetContextProps

    def inline_events(self) -> Iterable[str]:
        return ()

    def __init__(self, props: SetContextProps) -> None:
        super().__init__(props)
        self._values = TemplateMap(props.values)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        values = self._values.render(ctx.scope)
        if self.props.result_as:
            values[self.props.result_as] = ctx.result
        return (SetContextAction(values),) if values else ()


class CreateChildProps(RuleProps):
    entity_type: str = Field(min_length=1, description="Type of the child, e.g. FULFILMENT.")
    entity_subtype: str = Field(min_length=1, description="Subtype of the child: picks its workflow.")
    entity_ref: str = Field(min_length=1, description="Ref of the child; placeholders such as {item.group}.")
    event_name: str = Field(default="CREATE", description="The event that starts the child's workflow.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Attributes of that event (placeholders).")
    for_each: str | None = Field(default=None, description="A list (e.g. entity.attributes.lineGroups): one child "
                                                            "per element, readable as {item…}.")
    item_attributes: bool = Field(default=False, description="Copy each element (an object) into the attributes.")

    _check_ref = field_validator("entity_ref")(_template)
    _check_attributes = field_validator("attributes")(_templates)


class CreateChild(Rule[CreateChildProps]):
    """Create child entities under the same root, linked to this one; each starts its own workflow."""

    Props = CreateChildProps

    def inline_events(self) -> Iterable[str]:
        return ()

    def __init__(self, props: CreateChildProps) -> None:
        super().__init__(props)
        self._ref = Template(props.entity_ref)
        self._attributes = TemplateMap(props.attributes)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        return [self._create(ctx, item) for item in _items(ctx, self.props.for_each)]

    def _create(self, ctx: RuleContext, item: Any) -> SendEvent:
        scope = {**ctx.scope, "item": item}
        attributes = dict(item) if self.props.item_attributes and isinstance(item, Mapping) else {}
        attributes.update(self._attributes.render(scope))
        target = EventTarget(self.props.entity_type, self._ref.render(scope), self.props.entity_subtype)
        return SendEvent(self.props.event_name, attributes, target, creates_child=True)


class ForEachProps(RuleProps):
    items: str = Field(min_length=1, description="Path of the list: entity.attributes.lines, event.attributes.x, "
                                                 "or children (each {entityType, entityRef, status}).")
    event_name: str = Field(min_length=1, description="The event sent for each element.")
    entity_type: str | None = Field(default=None, description="Target type; omit to send inline to this entity.")
    entity_ref: str | None = Field(default=None, description="Target ref, e.g. {item.entityRef}.")
    entity_subtype: str | None = Field(default=None, description="Target subtype (needed when the target is new).")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Event attributes (placeholders, {item…}).")
    item_as: str | None = Field(default="item", description="Attribute holding the element itself (null: none).")

    _check_ref = field_validator("entity_ref")(_template)
    _check_attributes = field_validator("attributes")(_templates)


class ForEach(Rule[ForEachProps]):
    """Send one event per element of a list: one per order line, one per child…"""

    Props = ForEachProps

    def inline_events(self) -> Iterable[str]:
        return () if self.props.entity_type else (self.props.event_name,)

    def __init__(self, props: ForEachProps) -> None:
        super().__init__(props)
        if (props.entity_type is None) != (props.entity_ref is None):
            raise ValueError("entityType and entityRef go together: give both to target other entities")
        self._ref = Template(props.entity_ref) if props.entity_ref else None
        self._attributes = TemplateMap(props.attributes)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        return [self._send(ctx, item) for item in _items(ctx, self.props.items)]

    def _send(self, ctx: RuleContext, item: Any) -> SendEvent:
        scope = {**ctx.scope, "item": item}
        attributes = self._attributes.render(scope)
        if self.props.item_as:
            attributes.setdefault(self.props.item_as, item)
        target = None
        if self._ref is not None and self.props.entity_type is not None:
            target = EventTarget(self.props.entity_type, self._ref.render(scope), self.props.entity_subtype)
        return SendEvent(self.props.event_name, attributes, target)


def _items(ctx: RuleContext, path: str | None) -> list[Any]:
    if path is None:
        return [None]
    if path == "children":
        return [{"entityType": k.split(":", 1)[0], "entityRef": k.split(":", 1)[1], "status": status}
                for k, status in sorted(ctx.children.items())]
    value = lookup(ctx.scope, path)
    return list(value) if isinstance(value, list | tuple) else []


class SendEventToParentProps(RuleProps):
    event_name: str = Field(min_length=1, description="The event sent to the parent.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Its attributes (placeholders).")
    forward_attributes: bool = Field(default=False, description="Copy the current event's attributes first.")

    _check_attributes = field_validator("attributes")(_templates)


class SendEventToParent(Rule[SendEventToParentProps]):
    """Send an event to the entity that created this one (CreateChild)."""

    Props = SendEventToParentProps

    def inline_events(self) -> Iterable[str]:
        return ()

    def __init__(self, props: SendEventToParentProps) -> None:
        super().__init__(props)
        self._attributes = TemplateMap(props.attributes)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        entity = ctx.entity
        if entity.parent_entity_type is None or entity.parent_entity_ref is None:
            raise BusinessError(f"{entity.entity_type} {entity.entity_ref} has no parent to send "
                                f"{self.props.event_name!r} to; it was not created by CreateChild")
        attributes = dict(ctx.event.attributes) if self.props.forward_attributes else {}
        attributes.update(self._attributes.render(ctx.scope))
        target = EventTarget(entity.parent_entity_type, entity.parent_entity_ref)
        return (SendEvent(self.props.event_name, attributes, target),)


class IfAllChildrenProps(RuleProps):
    statuses: list[str] = Field(min_length=1, description="The statuses every child must be in.")
    event_name: str = Field(min_length=1, description="Sent to this entity (inline) when they all are.")
    child_type: str | None = Field(default=None, description="Only children of this type count.")
    otherwise: str | None = Field(default=None, description="Sent inline when they are not (optional).")


class IfAllChildren(Rule[IfAllChildrenProps]):
    """The join: when every child (of a type) is in one of the given statuses, send an event."""

    Props = IfAllChildrenProps
    needs_children: ClassVar[bool] = True

    def inline_events(self) -> Iterable[str]:
        return tuple(name for name in (self.props.event_name, self.props.otherwise) if name)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        prefix = f"{self.props.child_type}:" if self.props.child_type else ""
        statuses = [s for k, s in ctx.children.items() if k.startswith(prefix)]
        done = bool(statuses) and all(s in self.props.statuses for s in statuses)
        name = self.props.event_name if done else self.props.otherwise
        return (SendEvent(name, {"children": len(statuses)}),) if name else ()


class LogProps(RuleProps):
    message: str = Field(min_length=1, description="Text of the audit record; placeholders allowed.")
    data: dict[str, Any] = Field(default_factory=dict, description="Extra values recorded (placeholders).")

    _check_message = field_validator("message")(_template)
    _check_data = field_validator("data")(_templates)


class Log(Rule[LogProps]):
    """Write a custom audit record."""

    Props = LogProps

    def inline_events(self) -> Iterable[str]:
        return ()

    def __init__(self, props: LogProps) -> None:
        super().__init__(props)
        self._message, self._data = Template(props.message), TemplateMap(props.data)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        return (Note(self._message.render_with(ctx.lookup), self._data.render(ctx.scope)),)


class WebhookProps(RuleProps):
    url: str = Field(pattern=r"^https?://", description="Where to POST; placeholders allowed.")
    payload: str = Field(default="both", pattern="^(entity|event|both)$", description="entity, event or both.")
    secret_env: str = Field(default="ORCH_WEBHOOK_SECRET", pattern=r"^ORCH_WEBHOOK_[A-Z0-9_]*$",
                            description="Environment variable holding the HMAC-SHA256 signing secret; only "
                                        "ORCH_WEBHOOK_* names, so a workflow cannot sign with other credentials.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers.")

    _check_url = field_validator("url")(_template)


class Webhook(Rule[WebhookProps]):
    """POST the entity and/or event JSON to a URL after the event commits; signed, retried, audited."""

    Props = WebhookProps

    def inline_events(self) -> Iterable[str]:
        return ()

    def __init__(self, props: WebhookProps) -> None:
        super().__init__(props)
        self._url = Template(props.url)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        body = {k: dict(ctx.scope[k]) for k in ("entity", "event") if self.props.payload in (k, "both")}
        return (CallWebhook(self._url.render_with(ctx.lookup), body, self.props.secret_env, dict(self.props.headers)),)


class FailProps(RuleProps):
    message: str = Field(min_length=1, description="Why; placeholders allowed.")

    _check_message = field_validator("message")(_template)


class Fail(Rule[FailProps]):
    """Fail the event on purpose: the entity stays as it was and the audit records the message."""

    Props = FailProps

    def inline_events(self) -> Iterable[str]:
        return ()

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        raise BusinessError(Template(self.props.message).render_with(ctx.lookup))


LIBRARY_RULES: tuple[type[Rule], ...] = (  # type: ignore[type-arg]
    SetContext, CreateChild, ForEach, SendEventToParent, IfAllChildren, Log, Webhook, Fail,
)

