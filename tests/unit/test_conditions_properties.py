"""Property-based checks of the condition language (skipped when hypothesis is not installed):

- any text either compiles or raises ConditionSyntaxError with a position inside it — never anything else;
- generated conditions over generated data never raise, and the compiled lambda (folding, TRUE/FALSE polarity,
  short-circuits) agrees with a plain three-valued tree-walking interpreter written here;
- NOT (a = b) agrees with a <> b, and IN agrees with a chain of = ... OR.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.conditions import ConditionSyntaxError, compile_condition
from orchestrator.conditions import _runtime as rt
from orchestrator.conditions._ast import (
    Arith,
    BoolOp,
    Compare,
    Const,
    Field,
    InCollection,
    InList,
    IsNull,
    Like,
    Negate,
    Node,
    Not,
)
from orchestrator.conditions._parse import parse

FIELDS = ["event.a", "event.b", "event.attributes['c']", "entity.s", "result.r", "event.missing", "event.list[0]"]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10_000, max_value=10_000),
    st.sampled_from(["", "true", "FALSE", "abc", "10", " 2.5 ", "1e3", "-0", "x%y", "it's"]),
    st.text(max_size=6),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.sampled_from(["k", "v"]), st.integers(0, 3), max_size=2),
)

scopes = st.fixed_dictionaries(
    {
        "event": st.fixed_dictionaries(
            {
                "a": values,
                "b": values,
                "attributes": st.fixed_dictionaries({"c": values}),
                "list": st.lists(values, max_size=2),
            }
        ),
        "entity": st.fixed_dictionaries({"s": values}),
        "result": st.fixed_dictionaries({"r": values}),
    }
)

literals = st.one_of(
    st.integers(0, 50).map(str),
    st.decimals(min_value=0, max_value=100, places=2).map(str),
    st.sampled_from(["'abc'", "'10'", "'true'", "''", "'it''s'", "TRUE", "FALSE", "NULL", "'A%'", "'_b%'"]),
)
leaves = st.one_of(st.sampled_from(FIELDS), literals)


def _value_exprs(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        children.map(lambda v: f"-{v}"),
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    )


value_exprs = st.recursive(leaves, _value_exprs, max_leaves=4)


def _predicates(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        children.map(lambda p: f"NOT ({p})"),
        st.tuples(children, st.sampled_from(["AND", "OR"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    )


comparisons = st.one_of(
    st.tuples(value_exprs, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), value_exprs).map(" ".join),
    st.tuples(value_exprs, st.sampled_from(["LIKE", "NOT LIKE"]), value_exprs).map(" ".join),
    st.tuples(value_exprs, st.sampled_from(["IN", "NOT IN"]), st.lists(value_exprs, min_size=1, max_size=3)).map(
        lambda t: f"{t[0]} {t[1]} ({', '.join(t[2])})"
    ),
    st.tuples(value_exprs, st.sampled_from(["IN", "NOT IN"])).map(lambda t: f"{t[0]} {t[1]} event.list"),
    st.tuples(value_exprs, st.sampled_from(["IS NULL", "IS NOT NULL"])).map(" ".join),
    value_exprs,  # a bare value: "is true"
)
conditions = st.recursive(comparisons, _predicates, max_leaves=5)


# --------------------------------------------------------------------------------------------- the oracle


def _read(scope: dict[str, Any], node: Field) -> Any:
    value: Any = scope.get(node.root)
    for key in node.keys:
        value = rt.step(value, key)
    return value


def _value(node: Node, scope: dict[str, Any]) -> Any:
    match node:
        case Const(value):
            return value
        case Field():
            return _read(scope, node)
        case Negate(operand):
            return rt.negate(_value(operand, scope))
        case Arith(op, left, right):
            function = {"+": rt.add, "-": rt.sub, "*": rt.mul, "/": rt.div}[op]
            return function(_value(left, scope), _value(right, scope))
    return _truth3(node, scope)


_TESTS = {"=": rt.eq, "<>": rt.ne, "<": rt.lt, "<=": rt.le, ">": rt.gt, ">=": rt.ge}
_OPPOSITE = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _three(is_true: bool, is_false: bool) -> bool | None:
    return True if is_true else False if is_false else None


def _flip(result: bool | None, negated: bool) -> bool | None:
    return (not result if result is not None else None) if negated else result


def _truth3(node: Node, scope: dict[str, Any]) -> bool | None:  # noqa: PLR0911 - one case per node kind
    match node:
        case Not(operand):
            return _flip(_truth3(operand, scope), negated=True)
        case BoolOp("AND", operands):
            results = [_truth3(each, scope) for each in operands]
            return False if False in results else None if None in results else True
        case BoolOp("OR", operands):
            results = [_truth3(each, scope) for each in operands]
            return True if True in results else None if None in results else False
        case Compare(op, left, right):
            a, b = _value(left, scope), _value(right, scope)
            return _three(_TESTS[op](a, b), _TESTS[_OPPOSITE[op]](a, b))
        case Like(value, pattern, negated):
            v, p = _value(value, scope), _value(pattern, scope)
            return _flip(_three(rt.like_any(v, p), rt.not_like_any(v, p)), negated)
        case InList(value, items, negated):
            v = _value(value, scope)
            listed = tuple(x for x in (_value(item, scope) for item in items) if x is not None)
            return _flip(None if v is None else any(rt.eq(v, x) for x in listed), negated)
        case InCollection(value, collection, negated):
            v, c = _value(value, scope), _value(collection, scope)
            return _flip(_three(rt.in_collection(v, c), rt.not_in_collection(v, c)), negated)
        case IsNull(value, negated):
            return (_value(value, scope) is not None) if negated else (_value(value, scope) is None)
    return rt.truth(_value(node, scope))


# --------------------------------------------------------------------------------------------- properties

SETTINGS = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(conditions, scopes)
def test_compiled_conditions_agree_with_a_plain_interpreter(text: str, scope: dict[str, Any]) -> None:
    condition = compile_condition(text)
    expected = _truth3(parse(text), scope) is True
    assert condition.evaluate(scope) is expected
    assert not (expected and compile_condition(f"NOT ({text})").evaluate(scope))


@SETTINGS
@given(values, values)
def test_not_equal_is_the_negation_of_equal(a: Any, b: Any) -> None:
    scope = {"event": {"a": a, "b": b}}
    for op, opposite in [("=", "<>"), ("<", ">="), ("<=", ">"), ("LIKE", "NOT LIKE")]:
        left = compile_condition(f"NOT (event.a {op} event.b)").evaluate(scope)
        right = compile_condition(f"event.a {opposite} event.b").evaluate(scope)
        assert left is right


@SETTINGS
@given(values, st.lists(values.filter(lambda v: v is not None), min_size=1, max_size=4))
def test_in_is_a_chain_of_equals(value: Any, items: list[Any]) -> None:
    scope = {"event": {"v": value, "items": dict(enumerate(items))}}
    listed = ", ".join(f"event.items[{i}]" for i in range(len(items)))
    chained = " OR ".join(f"event.v = event.items[{i}]" for i in range(len(items)))
    assert compile_condition(f"event.v IN ({listed})").evaluate(scope) is compile_condition(chained).evaluate(scope)
    if value is not None:
        rejected = compile_condition(f"event.v NOT IN ({listed})").evaluate(scope)
        assert rejected is not compile_condition(chained).evaluate(scope)


@SETTINGS
@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-1e6, max_value=1e6),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-1e6, max_value=1e6),
)
def test_numbers_compare_exactly_however_they_arrive(a: Decimal, b: Decimal) -> None:
    for left in (a, str(a), float(a)):
        scope = {"event": {"a": left}}
        if isinstance(left, float) and Decimal(repr(left)) != a:
            continue  # the float is not the decimal any more
        assert compile_condition(f"event.a < {b}").evaluate(scope) is (a < b)
        assert compile_condition(f"event.a = {b}").evaluate(scope) is (a == b)


ALPHABET = st.sampled_from(
    [
        *"()[]'.,=<>!+-*/%_ \n\t§\"&|",
        "event",
        "entity",
        ".attributes",
        ".total",
        " AND ",
        " OR ",
        " NOT ",
        " LIKE ",
        " IN ",
        " IS ",
        " NULL",
        " TRUE",
        "500",
        "1.5",
        "'A'",
        "evnt",
    ]
)


@settings(max_examples=1500, deadline=None, database=None)
@given(st.lists(ALPHABET, max_size=14).map("".join))
def test_any_text_compiles_or_says_where_it_goes_wrong(text: str) -> None:
    try:
        condition = compile_condition(text)
    except ConditionSyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert error.message
        assert error.render().count("\n") == 2
        return
    assert condition.evaluate({"event": {"attributes": {"total": "7"}}, "entity": {}}) in (True, False)
