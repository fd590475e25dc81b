"""Turn pydantic validation errors and compile issues into messages that say what is wrong and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any, NamedTuple

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from orchestrator.engine import Issue, WorkflowInvalid
from orchestrator.rules import RuleRegistry
from orchestrator.workflow.errors import DocPath
from orchestrator.workflow.source import Document


class Finding(NamedTuple):
    """A problem at a path inside the document (the loader adds the file, line and column); ``at_key``
    points at the key rather than its value, for keys that should not be there."""

    path: DocPath
    message: str
    at_key: bool = False


REQUIRED_TOP_LEVEL = ("retailerId", "version", "entityType", "entitySubtype")
_RULE_NAME_DEPTH = 5  # ("rulesets", i, "rules", r, "name")


def not_a_workflow(data: Any) -> str:
    found = "an empty file" if data is None else f"a {_kind(data)}"
    return (
        f"not a workflow: found {found}; a workflow file holds one object with "
        f"{', '.join(REQUIRED_TOP_LEVEL)}, rulesets and statuses"
    )


def duplicate_key(path: DocPath) -> Finding:
    message = f"key {path[-1]!r} is written twice in this object; the later value would silently win: keep one"
    return Finding(path, message, at_key=True)


def model_findings(exc: ValidationError) -> Iterator[Finding]:
    for error in exc.errors():
        yield Finding(tuple(error["loc"]), _explain(error))


def _explain(error: ErrorDetails) -> str:
    loc, kind, value = error["loc"], error["type"], error.get("input")
    field = loc[-1] if loc else "workflow"
    if kind == "missing":
        if len(loc) == 1:
            return f"not a workflow: required field {field!r} is missing; add it at the top level"
        return f"required field {field!r} is missing; add it"
    if kind == "string_type":
        in_yaml = f" (in YAML: {field}: \"{value}\")" if isinstance(value, int | float | bool) else ""
        return f"expected text, got {_kind(value)} {value!r}; quote it{in_yaml}"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        return f"expected {expected}, got {_kind(value)}; write it as {expected}"
    return "must not be empty" if kind == "string_too_short" else str(error["msg"])


_EXPECTED = {
    "model_type": "an object (key: value pairs)",
    "dict_type": "an object (key: value pairs)",
    "model_attributes_type": "an object (key: value pairs)",
    "list_type": "a list",
    "bool_type": "true or false",
}


def compile_findings(exc: WorkflowInvalid, document: Document, rules: RuleRegistry) -> Iterator[Finding]:
    for issue in exc.issues:
        path = _narrow_to_offending_prop(issue, document)
        message = _plain(issue.message) + _fix_hint(path, issue.message, document, rules)
        yield Finding(path, message, at_key="Extra inputs are not permitted" in issue.message)


_PLAIN_WORDS = {
    "Extra inputs are not permitted": "unknown prop",
    "Field required": "required prop is missing; add it",
}


def _plain(message: str) -> str:
    """pydantic's wording, as it reads for a rule's props."""
    for pydantic_words, plain in _PLAIN_WORDS.items():
        message = message.replace(pydantic_words, plain)
    return message


def _narrow_to_offending_prop(issue: Issue, document: Document) -> DocPath:
    """An issue about a rule's ``props`` that quotes one of their values points at that value's key."""
    path = issue.path
    props = document.node(path)
    if not path or path[-1] != "props" or not isinstance(props, dict):
        return path
    quoted = [key for key, value in props.items() if isinstance(value, str) and f"'{value}'" in issue.message]
    return (*path, quoted[0]) if len(quoted) == 1 else path


def _fix_hint(path: DocPath, message: str, document: Document, rules: RuleRegistry) -> str:
    if len(path) < _RULE_NAME_DEPTH or path[:1] != ("rulesets",) or path[2:3] != ("rules",):
        return ""
    rule_name = document.node((*path[:4], "name"))
    if not isinstance(rule_name, str):
        return ""
    if path[4] == "name" and rule_name not in rules and "did you mean" not in message:
        known = ", ".join(name for name, _ in rules)
        return (
            f"; known rules: {known} (a rule from another package needs that package installed, "
            "registered under the 'orchestrator.rules' entry point)"
        )
    if path[4] == "props" and "Extra inputs are not permitted" in message and rule_name in rules:
        return _props_hint(rules, rule_name, str(path[-1]))
    return ""


def _props_hint(rules: RuleRegistry, rule_name: str, written: str) -> str:
    props = rules.resolve(rule_name).Props
    accepted = [info.alias or name for name, info in props.model_fields.items()]
    close = difflib.get_close_matches(written, accepted, n=1)
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return f"; {rule_name.rsplit('.', 1)[-1]} takes: {', '.join(accepted)}{suggestion}"


def _kind(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
