"""Load errors that name the file, the line and column, what is wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DocPath = tuple[str | int, ...]
"""Where a node sits inside a workflow document: ``("rulesets", 3, "rules", 0, "props", "status")``."""


def format_path(path: DocPath) -> str:
    """``("rulesets", 3, "rules", 0, "name")`` -> ``rulesets[3].rules[0].name``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True, slots=True)
class FileError:
    """One problem in one file; renders as ``file:line:column: message`` (line and column are 1-based)."""

    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


class WorkflowLoadError(Exception):
    """Every error found in every file; when raised, nothing was loaded."""

    def __init__(self, errors: Sequence[FileError]) -> None:
        self.errors = list(errors)
        super().__init__(self._summary())

    def _summary(self) -> str:
        lines = [f"{len(self.errors)} error(s) in workflow files; nothing was loaded"]
        lines.extend(str(error) for error in self.errors)
        return "\n".join(lines)
