"""``{event.entityRef}-F1``-style placeholders in rule props, compiled once when the workflow loads."""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\}")
_ROOTS = ("event", "entity")


class TemplateError(ValueError):
    pass


class Template:
    """A string whose ``{dotted.path}`` parts are read from the rule's scope; missing paths render empty."""

    __slots__ = ("_parts", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._parts: list[str | tuple[str, ...]] = []
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

    def render(self, scope: dict[str, Any]) -> str:
        if self.is_literal:
            return self.source
        return "".join(part if isinstance(part, str) else _text(_lookup(scope, part)) for part in self._parts)


def _lookup(scope: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = scope
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)
