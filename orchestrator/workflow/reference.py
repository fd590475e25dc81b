"""The rule reference page, generated from each rule's docstring and typed props (docs/rules.md)."""

from __future__ import annotations

import inspect
from typing import Any

from pydantic.fields import FieldInfo

from orchestrator.rules import RuleRegistry
from orchestrator.rules.registry import RuleClass

HEADER = """# Rule reference

Generated from the rules' code by `orchestrator rules --markdown` (`make docs`); do not edit by hand.
A rule is named in a workflow file by its name, optionally with a dotted prefix (`acme.core.SetState`).
Props are checked when the workflow loads; unknown props are refused. Text props marked *template* may
use placeholders such as `{entity.entityRef}`, `{event.attributes.total}`, `{context.key}`, `{item.x}`.
"""


def rule_rows(registry: RuleRegistry) -> list[dict[str, Any]]:
    """One entry per rule: name, module, summary, props (name, type, default, required, description)."""
    return [_describe(name, cls) for name, cls in registry]


def markdown(registry: RuleRegistry) -> str:
    parts = [HEADER]
    for row in rule_rows(registry):
        parts.append(f"\n## {row['name']}\n\n{row['summary']}\n")
        if not row["props"]:
            parts.append("\nNo props.\n")
            continue
        parts.append("\n| prop | type | default | description |\n|---|---|---|---|\n")
        for prop in row["props"]:
            default = "*required*" if prop["required"] else f"`{prop['default']}`"
            parts.append(f"| `{prop['name']}` | {prop['type']} | {default} | {prop['description']} |\n")
    return "".join(parts)


def _describe(name: str, cls: RuleClass) -> dict[str, Any]:
    return {
        "name": name,
        "module": cls.__module__,
        "summary": " ".join(inspect.cleandoc(cls.__doc__ or "").split()),
        "props": [_prop(field_name, info) for field_name, info in cls.Props.model_fields.items()],
    }


def _prop(field_name: str, info: FieldInfo) -> dict[str, Any]:
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    return {
        "name": info.alias or field_name,
        "type": _type_name(info.annotation).replace("|", "or"),
        "required": required,
        "default": default,
        "description": (info.description or "").replace("|", "\\|"),
    }


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    return text or str(annotation).replace("typing.", "").replace("decimal.", "")
