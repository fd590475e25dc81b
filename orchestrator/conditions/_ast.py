"""The condition's syntax tree: what the parser builds and the compiler reads.  Nothing else makes these nodes,
so the compiler can trust every string and key in them to have come from the grammar."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

ROOTS = ("event", "entity", "context", "result", "results")

Key = str | int
ArithOp = Literal["+", "-", "*", "/"]
CompareOp = Literal["=", "<>", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: str, int, Decimal, bool or None (NULL)."""

    value: object


@dataclass(frozen=True, slots=True)
class Field:
    """``root.a['b'][0]`` — a root name and the keys below it; missing anywhere along the way is NULL."""

    root: str
    keys: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node


@dataclass(frozen=True, slots=True)
class Arith:
    op: ArithOp
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    op: CompareOp
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Like:
    value: Node
    pattern: Node
    negated: bool


@dataclass(frozen=True, slots=True)
class InList:
    """``value [NOT] IN (item, …)``."""

    value: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class InCollection:
    """``value [NOT] IN some.field`` where the field holds a list."""

    value: Node
    collection: Node
    negated: bool


@dataclass(frozen=True, slots=True)
class IsNull:
    value: Node
    negated: bool


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["AND", "OR"]
    operands: tuple[Node, ...]


Node = Const | Field | Negate | Arith | Compare | Like | InList | InCollection | IsNull | Not | BoolOp

_NODE_TYPES = (Const, Field, Negate, Arith, Compare, Like, InList, InCollection, IsNull, Not, BoolOp)

# Nodes whose natural result is TRUE / FALSE / NULL rather than a value.
PREDICATES = (Compare, Like, InList, InCollection, IsNull, Not, BoolOp)


def children(node: Node) -> tuple[Node, ...]:
    found: list[Node] = []
    for spec in fields(node):
        value = getattr(node, spec.name)
        if isinstance(value, _NODE_TYPES):
            found.append(value)
        elif isinstance(value, tuple):
            found.extend(item for item in value if isinstance(item, _NODE_TYPES))
    return tuple(found)


def roots_used(node: Node) -> frozenset[str]:
    if isinstance(node, Field):
        return frozenset((node.root,))
    return frozenset().union(*(roots_used(child) for child in children(node)))


def is_constant(node: Node) -> bool:
    """True when nothing under the node reads the scope, so it can be worked out once at compile time."""
    return not isinstance(node, Field) and all(is_constant(child) for child in children(node))
