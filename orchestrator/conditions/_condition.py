"""``compile_condition``: parse once, compile once, evaluate many times."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from orchestrator.conditions._ast import roots_used
from orchestrator.conditions._compile import Evaluator, build
from orchestrator.conditions._errors import ConditionSyntaxError
from orchestrator.conditions._parse import parse


class Condition:
    """A compiled condition.  Immutable; safe to share between threads and workflows."""

    __slots__ = ("_evaluator", "_python", "names_used", "source")

    source: str
    names_used: frozenset[str]
    _evaluator: Evaluator
    _python: str

    def __init__(self, source: str, names_used: frozenset[str], evaluator: Evaluator, python: str) -> None:
        self.source = source
        self.names_used = names_used
        self._evaluator = evaluator
        self._python = python

    def evaluate(self, scope: Mapping[str, Any]) -> bool:
        """TRUE → True; FALSE or NULL → False.  ``scope`` maps event / entity / context / result to JSON-like
        data; a root that is absent from it is NULL."""
        return self._evaluator(scope)

    def __call__(self, scope: Mapping[str, Any]) -> bool:
        return self._evaluator(scope)

    @property
    def evaluator(self) -> Evaluator:
        """The compiled function itself, for callers that evaluate it on a hot path."""
        return self._evaluator

    @property
    def python_source(self) -> str:
        """The generated lambda, for debugging and for the curious."""
        return self._python

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.source == self.source

    def __hash__(self) -> int:
        return hash((Condition, self.source))


def compile_condition(text: str) -> Condition:
    """Parse and compile ``text``; raises ConditionSyntaxError with a position when it is not a condition.

    Identical texts share one Condition (workflow versions repeat most of their conditions).
    """
    if not isinstance(text, str):
        raise TypeError(f"a condition is text, got {type(text).__name__}")
    return _compile_cached(text)


@lru_cache(maxsize=2048)
def _compile_cached(text: str) -> Condition:
    try:
        node = parse(text)
        evaluator, python = build(node, repr(text[:60]))
    except (RecursionError, SyntaxError, MemoryError):
        raise ConditionSyntaxError("condition is nested too deeply; split it up", text, 0) from None
    return Condition(text, roots_used(node), evaluator, python)
