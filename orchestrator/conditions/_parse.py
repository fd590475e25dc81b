"""Text → syntax tree: lark parses, a transformer builds our own nodes and checks the root names."""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Any

from lark import Token, Transformer
from lark.exceptions import UnexpectedInput, VisitError

from orchestrator.conditions._ast import (
    ROOTS,
    Arith,
    ArithOp,
    BoolOp,
    Compare,
    CompareOp,
    Const,
    Field,
    InCollection,
    InList,
    IsNull,
    Key,
    Like,
    Negate,
    Node,
    Not,
)
from orchestrator.conditions._diagnose import explain
from orchestrator.conditions._errors import ConditionSyntaxError
from orchestrator.conditions._grammar import parser


def parse(text: str) -> Node:
    try:
        tree = parser().parse(text)
    except UnexpectedInput as exc:
        raise explain(exc, text) from None
    try:
        node: Node = _ToAst(text).transform(tree)
    except VisitError as exc:
        raise exc.orig_exc from None  # our ConditionSyntaxError, or a RecursionError on absurd nesting
    return node


def unquote(token: str) -> str:
    """``'it''s'`` → ``it's``: Flux strings have no escapes; a doubled tick is our (SQL's) one extension."""
    return token[1:-1].replace("''", "'")


def unknown_name(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), ROOTS, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else f"to compare with the text {name}, write '{name}'; "
    return f"unknown name '{name}'; {hint}names are {', '.join(ROOTS)}"


_COMPARE_OPS: dict[str, CompareOp] = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MAX_DIGITS = 60
_ARITH_OPS: dict[str, ArithOp] = {"+": "+", "-": "-", "*": "*", "/": "/"}


class _ToAst(Transformer[Token, Node]):
    """One method per grammar alias; ``?`` rules with an alias arrive here even with a single child."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def start(self, children: list[Node]) -> Node:
        return children[0]

    def or_(self, children: list[Node]) -> Node:
        return children[0] if len(children) == 1 else BoolOp("OR", tuple(children))

    def and_(self, children: list[Node]) -> Node:
        return children[0] if len(children) == 1 else BoolOp("AND", tuple(children))

    def not_(self, children: list[Node]) -> Node:
        return Not(children[0])

    def compare(self, children: list[Any]) -> Node:
        left, op, right = children
        return Compare(_COMPARE_OPS[str(op)], left, right)

    def like(self, children: list[Node]) -> Node:
        return Like(children[0], children[1], negated=False)

    def not_like(self, children: list[Node]) -> Node:
        return Like(children[0], children[1], negated=True)

    def in_list(self, children: list[Any]) -> Node:
        return InList(children[0], tuple(children[1]), negated=False)

    def not_in_list(self, children: list[Any]) -> Node:
        return InList(children[0], tuple(children[1]), negated=True)

    def in_collection(self, children: list[Node]) -> Node:
        return InCollection(children[0], children[1], negated=False)

    def not_in_collection(self, children: list[Node]) -> Node:
        return InCollection(children[0], children[1], negated=True)

    def is_null(self, children: list[Node]) -> Node:
        return IsNull(children[0], negated=False)

    def is_not_null(self, children: list[Node]) -> Node:
        return IsNull(children[0], negated=True)

    def items(self, children: list[Node]) -> list[Node]:
        return children

    def arith(self, children: list[Any]) -> Node:
        node: Node = children[0]
        for op, right in zip(children[1::2], children[2::2], strict=True):
            node = Arith(_ARITH_OPS[str(op)], node, right)
        return node

    def negate(self, children: list[Node]) -> Node:
        return Negate(children[0])

    def number(self, children: list[Token]) -> Node:
        text = str(children[0])
        if len(text) > _MAX_DIGITS:
            raise ConditionSyntaxError(
                f"number too long (over {_MAX_DIGITS} digits)", self._text, children[0].start_pos or 0
            )
        return Const(Decimal(text) if "." in text else int(text))

    def string(self, children: list[Token]) -> Node:
        return Const(unquote(str(children[0])))

    def true(self, _children: list[Token]) -> Node:
        return Const(True)

    def false(self, _children: list[Token]) -> Node:
        return Const(False)

    def null(self, _children: list[Token]) -> Node:
        return Const(None)

    def key_string(self, children: list[Token]) -> Key:
        return unquote(str(children[0]))

    def key_int(self, children: list[Token]) -> Key:
        return int(children[0])

    def key_negative(self, children: list[Token]) -> Key:
        return -int(children[0])

    def path(self, children: list[Any]) -> Node:
        name: Token = children[0]
        if str(name) not in ROOTS:
            raise ConditionSyntaxError(unknown_name(str(name)), self._text, name.start_pos or 0)
        return Field(str(name), tuple(str(c) if isinstance(c, Token) else c for c in children[1:]))
