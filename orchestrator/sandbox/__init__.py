"""Safe execution of the Python snippets ("code rules") that workflows may carry.

Compile once when the workflow loads, run per event::

    code = compile_code(source, "rulesets/inventory.yaml", first_line=31)
    value = code.run({"event": event, "entity": entity, "context": context, "results": results, "result": last})
    result, actions = split_result(value)

A snippet is a function body: it reads the names it is given as read-only views, may ``return`` a value and
sees only curated built-ins (``BUILTIN_NAMES``). RestrictedPython rewrites attribute, item, iteration and
write access into guards; imports, dunders, introspection and I/O are refused at load time; a trace-based
deadline, a call-depth limit and size checks on operations bound what a run can cost. Every failure is a
``CodeError`` naming the workflow file and line. Pure: no I/O, no threads, no signals.

What a snippet may return, and the action markers, are described in ``orchestrator.sandbox._actions``.
"""

from orchestrator.sandbox._actions import (
    ACTION_KINDS,
    SEND_EVENT,
    SET_ATTRIBUTES,
    SET_CONTEXT,
    SET_STATUS,
    is_action,
    send_event,
    set_attributes,
    set_context,
    set_status,
    split_result,
)
from orchestrator.sandbox._compile import CompiledCode, compile_code
from orchestrator.sandbox._errors import CodeError, CodeLimitError, CodeRuntimeError, CodeSecurityError, CodeTimeout
from orchestrator.sandbox._namespace import BUILTINS as _BUILTINS

BUILTIN_NAMES: frozenset[str] = frozenset(_BUILTINS)
"""The names every snippet sees besides those the engine passes."""

__all__ = [
    "ACTION_KINDS",
    "BUILTIN_NAMES",
    "SEND_EVENT",
    "SET_ATTRIBUTES",
    "SET_CONTEXT",
    "SET_STATUS",
    "CodeError",
    "CodeLimitError",
    "CodeRuntimeError",
    "CodeSecurityError",
    "CodeTimeout",
    "CompiledCode",
    "compile_code",
    "is_action",
    "send_event",
    "set_attributes",
    "set_context",
    "set_status",
    "split_result",
]
