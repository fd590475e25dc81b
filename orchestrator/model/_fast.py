"""Copies of frozen models from already-validated values, without pydantic's generic copy machinery.

The engine copies the entity once per event and builds every outgoing event from validated parts; going
through ``model_copy``/validation there costs several microseconds each. Only for values known valid.
Beside them, ``memoized``: a value computed once per frozen model (an event's keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar, overload

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


_set = object.__setattr__


def replace(model: M, **changes: Any) -> M:
    """``model.model_copy(update=changes)``, for changes whose types already match the fields. The copy counts
    every field as set (as a model built with all its values does)."""
    values = model.__dict__.copy()
    values.update(changes)
    return construct(model.__class__, values)


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """``cls.model_construct(**values)`` for ``values`` naming every field with a value of its type; the
    dict becomes the model's own (the caller must not keep using it)."""
    new = cls.__new__(cls)
    _set(new, "__dict__", values)
    _set(new, "__pydantic_fields_set__", set(values))
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new


class memoized(Generic[T]):  # noqa: N801 (used as a decorator, like the property it replaces)
    """``functools.cached_property`` without the lock Python 3.11's takes on each first read (3.12 dropped
    it): 0.3 against 1.3 µs for the first read of an event's key, which the worker makes for every event.
    For frozen models read by one task at a time; the value is kept in the instance's ``__dict__`` (pydantic
    serialises and compares the fields only). A model using it lists it in ``ignored_types``."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self._compute = compute
        self._name = compute.__name__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type[Any] | None = None) -> T | Self:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._compute(instance)
        return value
