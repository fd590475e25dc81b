"""A parsed workflow file: its data plus the line and column of every node, for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.workflow.errors import DocPath


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a file, 1-based."""

    line: int
    column: int


class SyntaxProblem(Exception):
    """The file is not valid JSON/YAML; ``mark`` is where the parser gave up, when it knows."""

    def __init__(self, message: str, mark: Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


@dataclass
class Document:
    """``data`` as parsed; where each node's value (``marks``) and key (``key_marks``) starts, by path;
    keys written twice in one object."""

    data: Any
    marks: dict[DocPath, Mark] = field(default_factory=dict)
    key_marks: dict[DocPath, Mark] = field(default_factory=dict)
    duplicate_keys: list[DocPath] = field(default_factory=list)

    def locate(self, path: DocPath, *, key: bool = False) -> Mark:
        """Where the value at ``path`` starts (its key with ``key=True``), or its nearest ancestor present
        in the file (for a missing field, the object that lacks it)."""
        if key and path in self.key_marks:
            return self.key_marks[path]
        for end in range(len(path), -1, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return mark
        return Mark(1, 1)

    def node(self, path: DocPath) -> Any:
        """The value at ``path``, or None when the path does not exist."""
        value = self.data
        for part in path:
            if not _has(value, part):
                return None
            value = value[part]
        return value


def _has(container: Any, part: str | int) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)
