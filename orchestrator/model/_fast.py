"""Copies of frozen models from already-validated values, without pydantic's generic copy machinery.

The engine copies the entity once per event and builds every outgoing event from validated parts; going
through ``model_copy``/validation there costs several microseconds each. Only for values known valid.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


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
