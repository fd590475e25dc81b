"""The returned value, checked and normalised to plain JSON data the engine can store and send."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from orchestrator.sandbox._errors import Abort, CodeRuntimeError, over_limit
from orchestrator.sandbox._views import FrozenDict, FrozenList

MAX_NESTING = 64
_INT_RANGE = range(-(2**63), 2**64)
_SCALARS = (str, int, float, Decimal, date, time, UUID)
_NUMBERS = frozenset({int, float, bool, type(None), Decimal})


def to_json(value: Any, max_bytes: int) -> Any:
    """A fresh copy of ``value`` made of dict / list / str / int / float / bool / None.

    Decimal becomes its exact string ("12.50"), datetime / date / time ISO 8601 strings, tuples lists.
    Raises ``Abort`` (to be mapped to a ``CodeError``) for values JSON cannot hold or above ``max_bytes``."""
    if _measure(value, max_bytes, 0) < 0:
        _too_large(max_bytes)
    data = orjson.dumps(value, default=_default)
    if len(data) > max_bytes:
        _too_large(max_bytes, len(data))
    return orjson.loads(data)


def _too_large(max_bytes: int, size: int | None = None) -> None:
    measured = f" ({size:,} bytes)" if size is not None else ""
    over_limit(f"the returned value is too large{measured}: code rules may return at most {max_bytes:,} bytes of JSON")


def _not_json(message: str) -> Abort:
    return Abort(CodeRuntimeError, f"the returned value can't be stored as JSON: {message}")


def _measure(value: Any, budget: int, depth: int) -> int:
    """``budget`` minus a lower bound of ``value``'s JSON size (stops early once negative); checks types."""
    kind = type(value)
    if kind is str:
        return budget - len(value) - 3
    if kind is FrozenDict or kind is FrozenList:
        value = value._data
        kind = type(value)
    if kind is dict or (kind not in _NUMBERS and isinstance(value, Mapping)):  # any mapping, e.g. from the engine
        return _measure_mapping(value, budget, depth)
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return _measure_items(value, budget, depth)
    if kind is not bool and value is not None:
        _check_scalar(value)
    return budget - 2


def _measure_mapping(value: Mapping[Any, Any], budget: int, depth: int) -> int:
    _check_depth(depth)
    budget -= 2
    for key, item in value.items():
        if not isinstance(key, str):
            raise _not_json(f"dict keys must be strings, not {type(key).__name__} ({key!r})")
        budget = _measure(item, budget - len(key) - 4, depth + 1)
        if budget < 0:
            break
    return budget


def _measure_items(value: list[Any] | tuple[Any, ...], budget: int, depth: int) -> int:
    _check_depth(depth)
    budget -= 2
    for item in value:
        budget = _measure(item, budget - 1, depth + 1)
        if budget < 0:
            break
    return budget


def _check_depth(depth: int) -> None:
    if depth >= MAX_NESTING:
        over_limit(f"the returned value is nested more than {MAX_NESTING} levels deep")


def _check_scalar(value: Any) -> None:
    kind = type(value)
    if kind is int:
        if value not in _INT_RANGE:
            raise _not_json("it contains an integer outside the 64-bit range; return it as a string")
    elif kind is float:
        if not math.isfinite(value):
            raise _not_json(f"it contains {value}, which JSON cannot represent")
    elif not isinstance(value, _SCALARS):
        hint = "return a list" if isinstance(value, set | frozenset) else "return dicts, lists, strings and numbers"
        raise _not_json(f"it contains a {kind.__name__}; {hint}")


def _default(value: Any) -> Any:
    if isinstance(value, FrozenDict):
        return dict(value._data)
    if isinstance(value, FrozenList):
        return list(value._data)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(type(value).__name__)
