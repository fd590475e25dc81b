"""Code rules: a few lines of Python in the workflow file, compiled once at load, run in the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import Field, field_validator

from orchestrator.rules.actions import Action, EventTarget, Output, SendEvent, SetAttributes, SetContext, SetStatus
from orchestrator.rules.base import Rule, RuleContext, RuleProps
from orchestrator.sandbox import CodeError, CompiledCode, compile_code, split_result

NAMES = frozenset({"event", "entity", "context", "result", "results", "now"})
SNIPPET = "code"


@lru_cache(maxsize=1024)
def _compiled(source: str) -> CompiledCode:
    return compile_code(source, SNIPPET, known_names=NAMES)


class CodeProps(RuleProps):
    code: str = Field(min_length=1, description="Python statements (a function body) that may `return` a value "
                                                "or actions: set_status, set_attributes, set_context, send_event.")
    timeout_ms: int = Field(default=50, ge=1, le=1000, description="Longest the code may run, per event.")

    @field_validator("code")
    @classmethod
    def _compiles(cls, source: str) -> str:
        try:
            _compiled(source)
        except CodeError as exc:
            where = f" (line {exc.line} of the code)" if exc.line is not None else ""
            raise ValueError(f"{type(exc).__name__}: {exc.message}{where}") from None
        return source


class Code(Rule[CodeProps]):
    """Run inline Python in a sandbox with `event`, `entity`, `context`, `result`, `results` and `now`, plus
    math, decimal, datetime and the usual built-ins; no imports, files, network or dunders, bounded time and
    size. Return a value (the rule's result), an action, a list of actions, or {result, actions}."""

    Props = CodeProps

    def __init__(self, props: CodeProps) -> None:
        super().__init__(props)
        self._code = _compiled(props.code)

    def run(self, ctx: RuleContext) -> Sequence[Action]:
        scope = ctx.scope
        names = {name: scope.get(name) for name in ("event", "entity", "context", "result", "results")}
        names["now"] = ctx.now.isoformat()
        value = self._code.run(names, time_limit_s=self.props.timeout_ms / 1000)
        result, markers = split_result(value)
        actions: list[Action] = [_action(marker) for marker in markers]
        if result is not None:
            actions.append(Output(result))
        return actions


def _action(marker: dict[str, Any]) -> Action:
    kind = marker["action"]
    if kind == "setStatus":
        return SetStatus(marker["status"])
    if kind == "setAttributes":
        return SetAttributes(dict(marker["values"]))
    if kind == "setContext":
        return SetContext(dict(marker["values"]))
    target = marker.get("target")
    return SendEvent(
        marker["name"], dict(marker.get("attributes") or {}),
        EventTarget(target["entityType"], target["entityRef"], target.get("entitySubtype")) if target else None,
        marker.get("eventType") or "NORMAL",
    )
