"""Read-only views of the engine's data, so a snippet can read ``event`` and friends but never change them.

Views wrap lazily (nested values are wrapped when read), so passing a large entity costs nothing up front.
``.copy()`` gives the snippet a mutable deep copy of its own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, overload
from uuid import UUID

LEAF_TYPES: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), Decimal, datetime, date, time, timedelta, timezone, UUID}
)


def freeze(value: Any) -> Any:
    """``value`` as the snippet may see it: immutable leaves as they are, containers as read-only views."""
    kind = type(value)
    if kind in LEAF_TYPES or kind is FrozenDict or kind is FrozenList:
        return value
    if kind is dict:
        return FrozenDict(value)
    if kind is list or kind is tuple:
        return FrozenList(value)
    return _freeze_other(value)


def _freeze_other(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, str):  # str enums and other subclasses become plain strings
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, list | tuple):
        return FrozenList(value)
    if isinstance(value, set | frozenset):
        return frozenset(value)
    raise TypeError(
        f"a {type(value).__name__} value can't be passed to a code rule: "
        "pass JSON-like data (dicts, lists, strings, numbers, booleans, None, dates)"
    )


def thaw(value: Any) -> Any:
    """A mutable deep copy made of plain dicts and lists (tuples become lists)."""
    if isinstance(value, FrozenDict | FrozenList):
        value = value._data
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(item) for item in value]
    return freeze(value)


def unwrap(value: Any) -> Any:
    """The data behind a view (for ``isinstance`` and JSON output); anything else unchanged."""
    kind = type(value)
    if kind is FrozenDict or kind is FrozenList:
        return value._data
    return value


class FrozenDict(Mapping[Any, Any]):
    """A read-only view of a mapping; ``.copy()`` returns a mutable deep copy."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[Any, Any]) -> None:
        self._data = data

    def __getitem__(self, key: Any) -> Any:
        return freeze(self._data[key])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return freeze(self._data[key])
        except KeyError:
            return default

    def copy(self) -> Any:
        return thaw(self._data)

    def __eq__(self, other: object) -> bool:
        return bool(self._data == unwrap(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)


class FrozenList(Sequence[Any]):
    """A read-only view of a list or tuple; ``.copy()`` returns a mutable deep copy."""

    __slots__ = ("_data",)

    def __init__(self, data: Sequence[Any]) -> None:
        self._data = data

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> FrozenList: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return FrozenList(self._data[index])
        return freeze(self._data[index])

    def __iter__(self) -> Iterator[Any]:
        return map(freeze, self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, value: object) -> bool:
        return value in self._data

    def __add__(self, other: Sequence[Any]) -> list[Any]:
        return [*self, *other]

    def __radd__(self, other: Sequence[Any]) -> list[Any]:
        return [*other, *self]

    def copy(self) -> Any:
        return thaw(self._data)

    def __eq__(self, other: object) -> bool:
        return bool(self._data == unwrap(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)
