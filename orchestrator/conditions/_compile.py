"""Syntax tree → one Python lambda, compiled once.

The source is generated only from our own nodes: root names come from a fixed set, keys and simple constants
are written with ``repr``, everything else (Decimals, key sets, LIKE regexes) is bound by name, and the lambda
runs with no builtins.  Three-valued logic costs nothing at run time: every predicate is emitted in two forms,
"is it TRUE?" and "is it FALSE?", so NOT swaps them and AND / OR become Python's short-circuiting ``and`` / ``or``
of plain bools.  Parts that read no field are worked out at compile time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.conditions import _runtime as rt
from orchestrator.conditions._ast import (
    PREDICATES,
    Arith,
    BoolOp,
    Compare,
    CompareOp,
    Const,
    Field,
    InCollection,
    InList,
    IsNull,
    Like,
    Negate,
    Node,
    Not,
    is_constant,
)

Evaluator = Callable[[Mapping[str, Any]], bool]

HELPERS: dict[str, object] = {
    "_type": type,
    "_dict": dict,
    "_step": rt.step,
    "_is_true": rt.is_true,
    "_is_false": rt.is_false,
    "_eq": rt.eq,
    "_ne": rt.ne,
    "_lt": rt.lt,
    "_le": rt.le,
    "_gt": rt.gt,
    "_ge": rt.ge,
    "_in_const": rt.in_const,
    "_not_in_const": rt.not_in_const,
    "_in_items": rt.in_items,
    "_not_in_items": rt.not_in_items,
    "_in_collection": rt.in_collection,
    "_not_in_collection": rt.not_in_collection,
    "_like": rt.like,
    "_not_like": rt.not_like,
    "_like_any": rt.like_any,
    "_not_like_any": rt.not_like_any,
    "_add": rt.add,
    "_sub": rt.sub,
    "_mul": rt.mul,
    "_div": rt.div,
    "_negate": rt.negate,
}

_COMPARE = {"=": "_eq", "<>": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_INVERSE: dict[CompareOp, CompareOp] = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_ARITH = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div"}
_INLINE_TYPES = (bool, int, str)


def python_source(node: Node) -> tuple[str, dict[str, object]]:
    """The lambda's source and the constants it refers to by name."""
    emitter = _Emitter(fold=True)
    return f"lambda scope: {emitter.predicate(node, want=True)}", emitter.constants


def build(node: Node, label: str) -> tuple[Evaluator, str]:
    source, constants = python_source(node)
    code = compile(source, f"<condition {label}>", "eval")
    evaluator: Evaluator = eval(code, {"__builtins__": {}, **HELPERS, **constants})
    return evaluator, source


class _Emitter:
    def __init__(self, *, fold: bool) -> None:
        self.constants: dict[str, object] = {}
        self._fold = fold
        self._temps = 0

    def bind(self, value: object) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def literal(self, value: object) -> str:
        if value is None or type(value) in _INLINE_TYPES:
            return repr(value)
        return self.bind(value)

    def _folded(self, node: Node) -> Const | None:
        if self._fold and not isinstance(node, Const) and is_constant(node):
            return Const(evaluate_constant(node))
        return None

    # -------------------------------------------------------------------------------------------- values

    def value(self, node: Node) -> str:
        node = self._folded(node) or node
        match node:
            case Const(value):
                return self.literal(value)
            case Field(root, keys):
                return self._field(root, keys)
            case Negate(operand):
                return f"_negate({self.value(operand)})"
            case Arith(op, left, right):
                return f"{_ARITH[op]}({self.value(left)}, {self.value(right)})"
        return f"(True if {self.predicate(node, True)} else False if {self.predicate(node, False)} else None)"

    # -------------------------------------------------------------------------------------------- predicates

    def predicate(self, node: Node, want: bool) -> str:
        """Python for "node is TRUE" (want=True) or "node is FALSE" (want=False); NULL satisfies neither."""
        node = self._folded(node) or node
        match node:
            case Const(value):
                return repr(rt.truth(value) is want)
            case Not(operand):
                return self.predicate(operand, not want)
            case BoolOp(op, operands):
                joiner = " and " if (op == "AND") == want else " or "
                return "(" + joiner.join(self.predicate(each, want) for each in operands) + ")"
            case Field() | Negate() | Arith():
                return f"{'_is_true' if want else '_is_false'}({self.value(node)})"
        return self._test(node, want)

    def _test(self, node: Node, want: bool) -> str:
        """A comparison, LIKE, IN or IS NULL; asking for FALSE asks for TRUE of its opposite."""
        match node:
            case Compare(op, left, right):
                return self._compare(op if want else _INVERSE[op], left, right)
            case Like(value, pattern, negated):
                return self._like(value, pattern, negated=negated == want)
            case InList(value, items, negated):
                return self._in_list(value, items, negated=negated == want)
            case InCollection(value, collection, negated):
                helper = "_not_in_collection" if negated == want else "_in_collection"
                return f"{helper}({self.value(value)}, {self.value(collection)})"
            case IsNull(Const(constant), negated):
                return repr((constant is None) != (negated == want))
            case IsNull(value, negated):
                return f"({self.value(value)} is {'not ' if negated == want else ''}None)"
        raise AssertionError(f"not a predicate: {node!r}")  # pragma: no cover - the match above is exhaustive

    def _compare(self, op: CompareOp, left: Node, right: Node) -> str:
        if Const(None) in (left, right):
            return "False"  # x = NULL is never TRUE nor FALSE: write x IS NULL
        return f"{_COMPARE[op]}({self.value(left)}, {self.value(right)})"

    def _like(self, value: Node, pattern: Node, *, negated: bool) -> str:
        pattern = self._folded(pattern) or pattern
        if isinstance(pattern, Const):
            if type(pattern.value) is not str:
                return "False"  # NULL or a number as the pattern: never TRUE nor FALSE
            regex = self.bind(rt.like_pattern(pattern.value))
            return f"{'_not_like' if negated else '_like'}({self.value(value)}, {regex})"
        return f"{'_not_like_any' if negated else '_like_any'}({self.value(value)}, {self.value(pattern)})"

    def _field(self, root: str, keys: tuple[str | int, ...]) -> str:
        """Inline dict steps (the common case) with a walrus per step; anything else goes through ``_step``."""
        code = f"scope.get({root!r})"
        for key in keys:
            temp = f"_t{self._temps}"
            self._temps += 1
            code = f"({temp}.get({key!r}) if _type({temp} := {code}) is _dict else _step({temp}, {key!r}))"
        return code

    def _in_list(self, value: Node, items: tuple[Node, ...], *, negated: bool) -> str:
        folded = [self._folded(item) or item for item in items]
        subject = self.value(value)
        if all(isinstance(item, Const) for item in folded):
            literals = [item.value for item in folded if isinstance(item, Const) and item.value is not None]
            texts = frozenset(v for v in literals if type(v) is str)
            others = tuple(v for v in literals if type(v) is not str)
            args = f"{self.bind(texts)}, {self.bind(others)}, {self.bind(tuple(literals))}"
            return f"{'_not_in_const' if negated else '_in_const'}({subject}, {args})"
        listed = "".join(f"{self.value(item)}, " for item in folded)
        return f"{'_not_in_items' if negated else '_in_items'}({subject}, ({listed}))"


def evaluate_constant(node: Node) -> object:
    """The value of a part that reads no field, by compiling it without folding and running it once."""
    emitter = _Emitter(fold=False)
    if isinstance(node, PREDICATES):
        source = f"(True if {emitter.predicate(node, True)} else False if {emitter.predicate(node, False)} else None)"
    else:
        source = emitter.value(node)
    code = compile(source, "<constant>", "eval")
    return eval(code, {"__builtins__": {}, **HELPERS, **emitter.constants})
