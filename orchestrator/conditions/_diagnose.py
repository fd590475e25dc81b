"""Turn lark's parse errors into messages a retailer understands: what was expected, after what, and where."""

from __future__ import annotations

import contextlib
from typing import TypeGuard

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from orchestrator.conditions._errors import ConditionSyntaxError
from orchestrator.conditions._grammar import TERMINAL_WORDS, parser

_VALUE_START = frozenset({"NAME", "NUMBER", "STRING", "LPAR", "_TRUE", "_FALSE", "_NULL"})
_OPERATORS = frozenset({"COMPARE", "_AND", "_OR", "_LIKE", "_IN", "_IS", "ADD", "MUL"})
_VALUE_TOKENS = frozenset({"NAME", "FIELD", "NUMBER", "INT", "STRING", "_TRUE", "_FALSE", "_NULL", "LPAR"})

# Expected-terminal sets with a message of their own (the parser state tells what the author was writing).
_SPECIFIC: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"FIELD"}), "a field name"),
    (frozenset({"_NULL"}), "NULL"),
    (frozenset({"_NOT", "_NULL"}), "NULL or NOT NULL"),
    (frozenset({"LPAR", "NAME"}), "'(' and a list of values, like ('A', 'B'),"),
    (frozenset({"_LIKE", "_IN"}), "LIKE or IN"),
    (frozenset({"STRING", "INT", "MINUS"}), "a 'key' in single ticks or a number"),
    (frozenset({"RSQB"}), "']'"),
)

_CHARACTER_HINTS = {
    '"': "strings are written in single ticks, like 'BOOKED'",
    "&": "write AND",
    "|": "write OR",
    "!": "write NOT, or <> for 'not equal'",
    "`": "strings are written in single ticks, like 'BOOKED'",
}


def explain(exc: UnexpectedInput, text: str) -> ConditionSyntaxError:
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(text, exc.pos_in_stream or 0)
    if isinstance(exc, UnexpectedToken):
        if exc.token.type == "$END":
            return _at_end(frozenset(exc.expected), text)
        return _unexpected(exc.token, frozenset(exc.expected), text)
    if isinstance(exc, UnexpectedEOF):
        return _at_end(frozenset(exc.expected), text)
    return ConditionSyntaxError(str(exc), text, exc.pos_in_stream or 0)  # pragma: no cover - lark adds no others


def _tokens(text: str) -> list[Token]:
    """The tokens lark's lexer finds before the first character it cannot read."""
    found: list[Token] = []
    with contextlib.suppress(UnexpectedInput):
        found.extend(parser().lex(text))
    return found


def _before(tokens: list[Token], position: int) -> Token | None:
    earlier = [token for token in tokens if (token.start_pos or 0) < position]
    return earlier[-1] if earlier else None


def _printable(text: str, limit: int = 30) -> str:
    """Text to quote inside a one-line message: control characters escaped, long text cut short."""
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _word(token: Token) -> str:
    text = _printable(str(token))
    if token.type.startswith("_"):
        return text.upper()
    return text if token.type == "STRING" else f"'{text}'"


def _bad_character(text: str, position: int) -> ConditionSyntaxError:
    char = text[position] if position < len(text) else ""
    if char == "'":
        message = "unclosed string: this ' has no closing tick; strings are written in single ticks, like 'BOOKED'"
    else:
        hint = _CHARACTER_HINTS.get(char)
        message = f"unexpected character '{_printable(char)}'" + (f": {hint}" if hint else "")
    return ConditionSyntaxError(message, text, position)


def _open_parens(tokens: list[Token]) -> list[Token]:
    stack: list[Token] = []
    for token in tokens:
        if token.type == "LPAR":
            stack.append(token)
        elif token.type == "RPAR" and stack:
            stack.pop()
    return stack


def _ends_value(token: Token | None) -> TypeGuard[Token]:
    return token is not None and (token.type in _VALUE_TOKENS or token.type in {"RPAR", "RSQB"})


def _in_value_list(tokens: list[Token], position: int) -> bool:
    """Inside the parentheses of ``IN (…)`` at ``position``?"""
    before = [token for token in tokens if (token.start_pos or 0) < position]
    unclosed = _open_parens(before)
    if not unclosed:
        return False
    opener = before.index(unclosed[-1])
    return opener > 0 and before[opener - 1].type == "_IN"


def _what(expected: frozenset[str]) -> str:
    for terminals, words in _SPECIFIC:
        if expected <= terminals:
            return words
    if expected & _VALUE_START:
        return "a value"
    if expected & _OPERATORS:
        return "an operator (AND, OR, =, <>, <, >, LIKE, IN, IS, +, -, *, /)"
    return " or ".join(sorted({TERMINAL_WORDS.get(name, name) for name in expected}))


def _after(previous: Token | None) -> str:
    return f"after {_word(previous)}" if previous is not None else "at the start of the condition"


def _unexpected(token: Token, expected: frozenset[str], text: str) -> ConditionSyntaxError:
    position = token.start_pos or 0
    tokens = _tokens(text)
    previous = _before(tokens, position)
    if token.type == "RPAR" and not _open_parens([t for t in tokens if (t.start_pos or 0) < position]):
        message = "unbalanced parenthesis: this ')' has no matching '('"
    elif token.value == "=" and previous is not None and previous.value == "=":
        message = "write a single '=' to compare, not '=='"
    elif token.type == "COMPARE" and "COMPARE" not in expected and _ends_value(previous):
        message = f"comparisons cannot be chained: write a {token.value} b AND b {token.value} c"
    elif previous is not None and _in_value_list(tokens, position) and "COMMA" in expected:
        message = f"expected ',' or ')' after {_word(previous)}"
    elif token.type in _VALUE_TOKENS and _ends_value(previous) and expected & _OPERATORS:
        message = (
            f"missing operator between {_word(previous)} and {_word(token)}: "
            "join them with AND, OR, or a comparison such as ="
        )
    elif token.type in _OPERATORS and previous is None:
        message = f"a condition cannot start with {_word(token)}; expected a value"
    else:
        message = f"expected {_what(expected)} {_after(previous)}"
    return ConditionSyntaxError(message, text, position)


def _at_end(expected: frozenset[str], text: str) -> ConditionSyntaxError:
    if not text.strip():
        return ConditionSyntaxError("empty condition: write one, e.g. entity.status = 'BOOKED'", text, 0)
    tokens = _tokens(text)
    unclosed = _open_parens(tokens)
    if unclosed and "RPAR" in expected and not expected & _VALUE_START:
        message = "unbalanced parenthesis: this '(' is never closed; add ')'"
        return ConditionSyntaxError(message, text, unclosed[-1].start_pos or 0)
    end = len(text.rstrip())
    message = f"expected {_what(expected)} {_after(_before(tokens, end))}"
    return ConditionSyntaxError(message, text, end)
