"""Rules: typed props, pure ``run`` returning actions, and a registry extended through entry points."""

from orchestrator.rules.actions import (
    Action,
    BusinessError,
    CallWebhook,
    EventTarget,
    Note,
    Output,
    SendEvent,
    SetAttributes,
    SetContext,
    SetStatus,
)
from orchestrator.rules.base import Rule, RuleContext, RuleProps
from orchestrator.rules.registry import RuleRegistry, UnknownRule, core_registry

__all__ = [
    "Action",
    "BusinessError",
    "CallWebhook",
    "EventTarget",
    "Note",
    "Output",
    "Rule",
    "RuleContext",
    "RuleProps",
    "RuleRegistry",
    "SendEvent",
    "SetAttributes",
    "SetContext",
    "SetStatus",
    "UnknownRule",
    "core_registry",
]
