"""JSON workflow files: the stdlib decoder for the data, a small scanner for node positions.

``json`` reports where a syntax error is but not where each node is. Once the decoder has accepted the text
it is known to be valid JSON, so a scanner that only follows its structure (strings, objects, arrays,
scalars) can record the line and column of every node without re-checking the grammar.
"""

from __future__ import annotations

import bisect
import json
import re

from orchestrator.workflow.errors import DocPath
from orchestrator.workflow.source import Document, Mark, SyntaxProblem

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^,\]}\s]+")
_WHITESPACE = re.compile(r"[ \t\r\n]*")

_HINTS = (
    ("Expecting property name enclosed in double quotes",
     "remove the trailing comma before '}', and write keys in double quotes (JSON has no comments)"),
    ("Expecting ',' delimiter", "a comma is missing between two items, or a string is not closed"),
    ("Expecting ':' delimiter", "write a colon between a key and its value"),
    ("Expecting value", "a value is missing here: remove a trailing comma, or quote a bare word"),
    ("Extra data", "the file must hold exactly one workflow object; remove what follows it"),
    ("Unterminated string", "close the string with a double quote"),
    ("Invalid control character", "a string spans lines or holds a tab; write \\n or \\t instead"),
)


def parse_json(text: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SyntaxProblem(f"invalid JSON: {exc.msg}; {_hint(exc.msg)}", Mark(exc.lineno, exc.colno)) from None
    except RecursionError:
        raise SyntaxProblem("invalid JSON: nested too deeply", None) from None
    scanner = _PositionScanner(text)
    try:
        scanner.scan()
    except RecursionError:
        raise SyntaxProblem("JSON nested too deeply", None) from None
    return Document(data, scanner.marks, scanner.key_marks, scanner.duplicate_keys)


def _hint(message: str) -> str:
    for start, hint in _HINTS:
        if message.startswith(start):
            return hint
    return "check the JSON syntax near this position"


class _PositionScanner:
    """Walks text already accepted by ``json.loads``, recording where each node starts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.marks: dict[DocPath, Mark] = {}
        self.key_marks: dict[DocPath, Mark] = {}
        self.duplicate_keys: list[DocPath] = []

    def scan(self) -> None:
        self._value(self._skip(0), ())

    def _mark(self, offset: int) -> Mark:
        line = bisect.bisect_right(self.line_starts, offset)
        return Mark(line, offset - self.line_starts[line - 1] + 1)

    def _skip(self, offset: int) -> int:
        match = _WHITESPACE.match(self.text, offset)
        return match.end() if match else offset

    def _value(self, offset: int, path: DocPath) -> int:
        """Record the node at ``offset``; return the offset just after it."""
        self.marks[path] = self._mark(offset)
        first = self.text[offset]
        if first == "{":
            return self._object(offset + 1, path)
        if first == "[":
            return self._array(offset + 1, path)
        pattern = _STRING if first == '"' else _SCALAR
        match = pattern.match(self.text, offset)
        assert match is not None, "text was accepted by json.loads"
        return match.end()

    def _object(self, offset: int, path: DocPath) -> int:
        offset = self._skip(offset)
        seen: set[str] = set()
        while self.text[offset] != "}":
            key_match = _STRING.match(self.text, offset)
            assert key_match is not None, "text was accepted by json.loads"
            key: str = json.loads(key_match.group())
            if key in seen:
                self.duplicate_keys.append((*path, key))
            seen.add(key)
            self.key_marks[(*path, key)] = self._mark(offset)
            offset = self._skip(self._skip(key_match.end()) + 1)  # past the ':'
            offset = self._skip(self._value(offset, (*path, key)))
            if self.text[offset] == ",":
                offset = self._skip(offset + 1)
        return offset + 1

    def _array(self, offset: int, path: DocPath) -> int:
        offset = self._skip(offset)
        index = 0
        while self.text[offset] != "]":
            offset = self._skip(self._value(offset, (*path, index)))
            index += 1
            if self.text[offset] == ",":
                offset = self._skip(offset + 1)
        return offset + 1
