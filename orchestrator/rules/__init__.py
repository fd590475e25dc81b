"""Rules: typed props, pure ``run`` returning actions, and a registry extended through entry points."""

from orchestrator.rules.actions import Action, EventTarget, SendEvent, SetAttributes, SetStatus
from orchestrator.rules.base import Rule, RuleContext, RuleProps
from orchestrator.rules.registry import RuleRegistry, UnknownRule, core_registry

__all__ = [
    "Action",
    "EventTarget",
    "Rule",
    "RuleContext",
    "RuleProps",
    "RuleRegistry",
    "SendEvent",
    "SetAttributes",
    "SetStatus",
    "UnknownRule",
    "core_registry",
]
