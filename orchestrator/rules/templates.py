"""``{event.entityRef}-F1``-style placeholders in rule props, compiled once when the workflow loads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

Path = tuple[str, ...]  # a placeholder's dotted path, split

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\}")
_ROOTS = ("event", "entity", "context", "result", "results", "item")


class TemplateError(ValueError):
    pass


class Template:
    """A string whose ``{dotted.path}`` parts are read from the rule's scope; missing paths render empty."""

    __slots__ = ("_parts", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._parts: list[str | Path] = []
        pos = 0
        for match in _PLACEHOLDER.finditer(source):
            path = tuple(match.group(1).split("."))
            if path[0] not in _ROOTS:
                raise TemplateError(
                    f"placeholder {{{match.group(1)}}} in {source!r} must start with one of {', '.join(_ROOTS)}"
                )
            self._parts.append(source[pos : match.start()])
            self._parts.append(path)
            pos = match.end()
        self._parts.append(source[pos:])

    @property
    def is_literal(self) -> bool:
        return len(self._parts) == 1

    def render(self, scope: Mapping[str, Any]) -> str:
        return self.render_with(partial(lookup_path, scope))

    def render_with(self, lookup: Callable[[Path], Any]) -> str:
        """The text, each placeholder's value from ``lookup`` (``RuleContext.lookup`` reads the identity
        fields without building the scope)."""
        if self.is_literal:
            return self.source
        return "".join(part if isinstance(part, str) else _text(lookup(part)) for part in self._parts)

    def render_value(self, scope: Mapping[str, Any]) -> Any:
        """Like ``render``, but a template that is one placeholder alone keeps the value's type (a list stays
        a list, a number a number)."""
        parts = self._parts
        if len(parts) == 3 and parts[0] == "" and parts[2] == "" and not isinstance(parts[1], str):
            return lookup_path(scope, parts[1])
        return self.render(scope)


def lookup(scope: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (e.g. ``entity.attributes.lines``), None when any part is missing."""
    return lookup_path(scope, tuple(dotted.split(".")))


class TemplateMap:
    """A dict of prop values whose strings may hold placeholders; non-strings pass through."""

    __slots__ = ("_items", "_literal")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._items = [(k, Template(v) if isinstance(v, str) else v) for k, v in values.items()]
        placeholders = any(isinstance(v, Template) and not v.is_literal for _, v in self._items)
        self._literal = None if placeholders else dict(values)

    @property
    def is_literal(self) -> bool:
        """No placeholders: every render gives the values as written."""
        return self._literal is not None

    def render(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        """A new dict each time: the caller may change it."""
        if self._literal is not None:
            return dict(self._literal)
        return {k: v.render_value(scope) if isinstance(v, Template) else v for k, v in self._items}


def lookup_path(scope: Mapping[str, Any], path: Path) -> Any:
    value: Any = scope
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)
