"""The helpers compiled conditions call.  Every one takes JSON-like values and never raises on data: a missing
field is None (NULL), a type mismatch or an arithmetic fault yields None (values) or False (predicates).

Predicate helpers answer "is this definitely TRUE?" — the compiler asks the question of the opposite predicate
when it needs "definitely FALSE", which is how three-valued logic stays plain ``and`` / ``or`` at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from functools import lru_cache
from typing import Any

Number = int | float | Decimal

_CTX = Context(prec=34, traps=[InvalidOperation, DivisionByZero, Overflow])
# Pairs of types Python orders / computes correctly and quickly as they are; everything else is coerced first.
_NATIVE_ORDER = frozenset({
    (int, int), (int, float), (float, int), (float, float), (str, str),
    (Decimal, Decimal), (Decimal, int), (int, Decimal),
})  # fmt: skip
_NATIVE_ARITH = frozenset({(int, int), (int, float), (float, int), (float, float)})
_DECIMAL_ARITH = frozenset({(Decimal, Decimal), (Decimal, int), (int, Decimal)})
_NUMERIC = frozenset({int, float, Decimal})  # bool is not a number here
_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_SEQUENCES = (list, tuple)
_SEQUENCE_TYPES = frozenset(_SEQUENCES)
_OPAQUE = (str, int, float, Decimal, bool, bytes)  # values whose attributes are not fields


# ----------------------------------------------------------------------------------------------- field access


def step(obj: Any, key: str | int) -> Any:
    """One key down from anything that is not a plain dict: None, a list, a Mapping, or an object's public field."""
    if obj is None:
        return None
    if type(obj) in _SEQUENCE_TYPES or isinstance(obj, _SEQUENCES):
        return obj[key] if type(key) is int and -len(obj) <= key < len(obj) else None
    if isinstance(obj, Mapping):
        return obj.get(key)
    if type(key) is str and not key.startswith("_") and not isinstance(obj, _OPAQUE):
        try:
            return getattr(obj, key, None)
        except Exception:  # a property that raises is a field we cannot read: NULL
            return None
    return None


# ----------------------------------------------------------------------------------------------- coercion


@lru_cache(maxsize=4096)
def parse_number(text: str) -> Decimal | None:
    """``'500'`` / ``' 12.50 '`` / ``'1e3'`` → Decimal; anything else (including NaN, Infinity, ``1_000``) → None."""
    return Decimal(text) if _NUMERIC_TEXT.fullmatch(text) else None


def to_number(value: Any) -> Number | None:
    kind = type(value)
    if kind in _NUMERIC:
        return value  # type: ignore[no-any-return]
    if kind is str:
        return parse_number(value)
    return None


def _exact(value: float) -> Decimal:
    """A float as the decimal it was written as (0.1 → Decimal('0.1'), not 0.1000000000000000055…)."""
    return Decimal(repr(value))


def number_pair(a: Any, b: Any) -> tuple[Number, Number] | None:
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        return None
    if type(x) is float and type(y) is Decimal:
        return _exact(x), y
    if type(y) is float and type(x) is Decimal:
        return x, _exact(y)
    return x, y


def _to_bool(value: Any) -> bool | None:
    if type(value) is bool:
        return value
    if type(value) is str:
        lowered = value.lower()
        return True if lowered == "true" else False if lowered == "false" else None
    return None


def _equal_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Two values of different kinds made comparable for = and <>, or None when they are not of one kind."""
    if type(a) is bool or type(b) is bool:
        x, y = _to_bool(a), _to_bool(b)
        return None if x is None or y is None else (x, y)
    return number_pair(a, b)


def _order_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    if type(a) is type(b):
        return (a, b) if type(a) is Decimal else None
    if a is None or b is None or type(a) is bool or type(b) is bool:
        return None
    return number_pair(a, b)


# ----------------------------------------------------------------------------------------------- truth


def is_true(value: Any) -> bool:
    """A bare value read as a condition: TRUE only for true (or the text 'true', any case)."""
    return value is True or (type(value) is str and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (type(value) is str and value.lower() == "false")


def truth(value: Any) -> bool | None:
    return _to_bool(value)


# ----------------------------------------------------------------------------------------------- comparison


def eq(a: Any, b: Any) -> bool:
    if type(a) is type(b):
        return a is not None and bool(a == b)
    if a is None or b is None:
        return False
    pair = _equal_pair(a, b)
    return pair is not None and bool(pair[0] == pair[1])


def ne(a: Any, b: Any) -> bool:
    """Non-NULL and not equal; values of different kinds (a dict and a number, 'abc' and 5) are not equal."""
    if type(a) is type(b):
        return a is not None and bool(a != b)
    if a is None or b is None:
        return False
    pair = _equal_pair(a, b)
    return pair is None or bool(pair[0] != pair[1])


def lt(a: Any, b: Any) -> bool:
    try:
        if (type(a), type(b)) in _NATIVE_ORDER:
            result: bool = a < b
            return result
        pair = _order_pair(a, b)
        return pair is not None and bool(pair[0] < pair[1])
    except ArithmeticError:  # a Decimal NaN does not order
        return False


def le(a: Any, b: Any) -> bool:
    try:
        if (type(a), type(b)) in _NATIVE_ORDER:
            result: bool = a <= b
            return result
        pair = _order_pair(a, b)
        return pair is not None and bool(pair[0] <= pair[1])
    except ArithmeticError:  # a Decimal NaN does not order
        return False


def gt(a: Any, b: Any) -> bool:
    try:
        if (type(a), type(b)) in _NATIVE_ORDER:
            result: bool = a > b
            return result
        pair = _order_pair(a, b)
        return pair is not None and bool(pair[0] > pair[1])
    except ArithmeticError:  # a Decimal NaN does not order
        return False


def ge(a: Any, b: Any) -> bool:
    try:
        if (type(a), type(b)) in _NATIVE_ORDER:
            result: bool = a >= b
            return result
        pair = _order_pair(a, b)
        return pair is not None and bool(pair[0] >= pair[1])
    except ArithmeticError:  # a Decimal NaN does not order
        return False


# ----------------------------------------------------------------------------------------------- IN, LIKE


def in_const(value: Any, texts: frozenset[str], others: tuple[Any, ...], every: tuple[Any, ...]) -> bool:
    """``value IN (…)`` for a literal list: ``texts`` are its strings, ``others`` its other non-NULL items."""
    if type(value) is str:
        return value in texts or (bool(others) and any(eq(value, item) for item in others))
    return value is not None and any(eq(value, item) for item in every)


def not_in_const(value: Any, texts: frozenset[str], others: tuple[Any, ...], every: tuple[Any, ...]) -> bool:
    if value is None:
        return False
    return not in_const(value, texts, others, every)


def in_items(value: Any, items: tuple[Any, ...]) -> bool:
    return value is not None and any(eq(value, item) for item in items)


def not_in_items(value: Any, items: tuple[Any, ...]) -> bool:
    return value is not None and not any(eq(value, item) for item in items)


def in_collection(value: Any, collection: Any) -> bool:
    return value is not None and isinstance(collection, _SEQUENCES) and any(eq(value, item) for item in collection)


def not_in_collection(value: Any, collection: Any) -> bool:
    return value is not None and isinstance(collection, _SEQUENCES) and not any(eq(value, item) for item in collection)


@lru_cache(maxsize=1024)
def like_pattern(pattern: str) -> re.Pattern[str]:
    """SQL LIKE: ``%`` any run of characters, ``_`` one character, everything else literal; case-sensitive."""
    parts = (".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _text(value: Any) -> str | None:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    return str(value) if kind in _NUMERIC else None


def like(value: Any, regex: re.Pattern[str]) -> bool:
    text = _text(value)
    return text is not None and regex.fullmatch(text) is not None


def not_like(value: Any, regex: re.Pattern[str]) -> bool:
    text = _text(value)
    return text is not None and regex.fullmatch(text) is None


def like_any(value: Any, pattern: Any) -> bool:
    return type(pattern) is str and like(value, like_pattern(pattern))


def not_like_any(value: Any, pattern: Any) -> bool:
    return type(pattern) is str and not_like(value, like_pattern(pattern))


# ----------------------------------------------------------------------------------------------- arithmetic


def add(a: Any, b: Any) -> Number | None:
    kinds = (type(a), type(b))
    try:
        if kinds in _NATIVE_ARITH:
            result: Number = a + b
            return result
        if kinds in _DECIMAL_ARITH:
            return _CTX.add(a, b)
    except ArithmeticError:  # an int too large to meet a float, a Decimal overflow
        return None
    return _arith(a, b, _CTX.add, _plus)


def sub(a: Any, b: Any) -> Number | None:
    kinds = (type(a), type(b))
    try:
        if kinds in _NATIVE_ARITH:
            result: Number = a - b
            return result
        if kinds in _DECIMAL_ARITH:
            return _CTX.subtract(a, b)
    except ArithmeticError:  # an int too large to meet a float, a Decimal overflow
        return None
    return _arith(a, b, _CTX.subtract, _minus)


def mul(a: Any, b: Any) -> Number | None:
    kinds = (type(a), type(b))
    try:
        if kinds in _NATIVE_ARITH:
            result: Number = a * b
            return result
        if kinds in _DECIMAL_ARITH:
            return _CTX.multiply(a, b)
    except ArithmeticError:  # an int too large to meet a float, a Decimal overflow
        return None
    return _arith(a, b, _CTX.multiply, _times)


def div(a: Any, b: Any) -> Number | None:
    """Exact unless a float is involved: 7 / 2 is Decimal('3.5'); division by zero is NULL."""
    pair = number_pair(a, b)
    if pair is None or pair[1] == 0:
        return None
    x, y = pair
    try:
        if type(x) is float or type(y) is float:
            return x / y  # type: ignore[operator]
        return _CTX.divide(x, y)  # type: ignore[arg-type]
    except (ArithmeticError, TypeError):
        return None


def negate(value: Any) -> Number | None:
    number = to_number(value)
    if number is None:
        return None
    return _CTX.minus(number) if type(number) is Decimal else -number


def _arith(a: Any, b: Any, decimal_op: Any, native_op: Any) -> Number | None:
    pair = number_pair(a, b)
    if pair is None:
        return None
    x, y = pair
    try:
        if type(x) is Decimal or type(y) is Decimal:
            return decimal_op(x, y)  # type: ignore[no-any-return]
        return native_op(x, y)  # type: ignore[no-any-return]
    except (ArithmeticError, TypeError):
        return None


def _plus(x: Any, y: Any) -> Any:
    return x + y


def _minus(x: Any, y: Any) -> Any:
    return x - y


def _times(x: Any, y: Any) -> Any:
    return x * y
