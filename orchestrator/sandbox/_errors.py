"""Errors a code rule can cause, each naming the workflow file and line it comes from."""

from __future__ import annotations

from typing import Any, NoReturn


class CodeError(Exception):
    """A code rule that cannot compile or failed to run; ``str()`` reads ``message at file:line``."""

    def __init__(self, message: str, filename: str, line: int | None) -> None:
        super().__init__(message, filename, line)
        self.message = message
        self.filename = filename
        self.line = line

    def __str__(self) -> str:
        where = self.filename if self.line is None else f"{self.filename}:{self.line}"
        return f"{self.message} at {where}"

    def as_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, "file": self.filename, "line": self.line}


class CodeSecurityError(CodeError):
    """The code tried to leave the sandbox: a dunder, a forbidden name or module, an import, a write to input."""


class CodeRuntimeError(CodeError):
    """Any other exception raised by the code, e.g. ``ZeroDivisionError: division by zero``."""


class CodeLimitError(CodeError):
    """The code asked for too much: a huge string, list, number or returned value."""


class CodeTimeout(CodeLimitError):
    """The code ran longer than its time limit."""


class Abort(BaseException):
    """Raised inside the sandbox to stop a run for good.

    It derives from ``BaseException`` and the snippet can name neither it nor ``BaseException``, and may not
    write a bare ``except:`` or a ``finally:``, so no snippet code runs once it is raised."""

    def __init__(self, kind: type[CodeError], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def deny(message: str) -> NoReturn:
    raise Abort(CodeSecurityError, message)


def over_limit(message: str) -> NoReturn:
    raise Abort(CodeLimitError, message)
