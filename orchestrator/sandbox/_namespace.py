"""What a snippet can see: the curated built-ins and the guards RestrictedPython's rewritten code calls."""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from types import MethodType, ModuleType
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from orchestrator.sandbox import _actions, _limits
from orchestrator.sandbox._errors import deny
from orchestrator.sandbox._views import FrozenDict, FrozenList, unwrap


class SafeModule:
    """A module as code rules see it: a fixed set of members, nothing else."""

    __slots__ = ("_members", "_name")

    def __init__(self, name: str, members: Mapping[str, Any]) -> None:
        self._name = name
        self._members = dict(members)

    def member(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            shown = ", ".join(sorted(self._members)[:12])
            more = ", ..." if len(self._members) > 12 else ""
            deny(f"{self._name}.{name} is not available in code rules: {self._name} offers {shown}{more}")

    def __repr__(self) -> str:
        return f"<module {self._name!r} (code rule subset)>"


class GuardedType:
    """A built-in type whose constructor is size-checked (``int``, ``range``) but that ``isinstance`` and
    attribute access (``int.from_bytes``) still treat as the type itself."""

    __slots__ = ("_call", "wraps")

    def __init__(self, wraps: type, call: Callable[..., Any]) -> None:
        self.wraps = wraps
        self._call = call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.wraps)


_DENIED_ATTRIBUTES = {name: "it exposes interpreter frames and code objects" for name in INSPECT_ATTRIBUTES}
_DENIED_ATTRIBUTES.update(
    format="format strings can reach object internals ('{0.__class__}'); use an f-string",
    format_map="format strings can reach object internals ('{0.__class__}'); use an f-string",
    mro="it exposes the class hierarchy",
)
_CLOCK = frozenset({"now", "today", "utcnow"})


def guarded_getattr(obj: Any, name: str) -> Any:
    """``obj.name`` as rewritten by RestrictedPython."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name[:1] == "_":
        deny(f"attribute {name!r} is not allowed: names starting with '_' reach Python internals")
    if name in _DENIED_ATTRIBUTES:
        deny(f"{name!r} is not allowed in code rules: {_DENIED_ATTRIBUTES[name]}")
    kind = type(obj)
    if kind is SafeModule:
        return obj.member(name)
    if kind is GuardedType:
        obj = obj.wraps
        kind = type(obj)
    if name in _limits.GUARDED_METHOD_NAMES:
        guard = _method_guard(obj, kind, name)
        if guard is not None:
            return guard
    if name in _CLOCK and (obj is datetime or obj is date or isinstance(obj, date)):
        deny(f"{name}() is not available in code rules: rules must not read the clock; use the event's dates")
    value = getattr(obj, name)
    if isinstance(value, ModuleType):
        deny(f"{name!r} is a module, and modules are not reachable from code rules")
    return value


def _method_guard(obj: Any, kind: type, name: str) -> Callable[..., Any] | None:
    guard = _limits.METHOD_GUARDS.get((kind, name))
    if guard is not None:
        return MethodType(guard, obj)
    if kind is type:
        return _limits.METHOD_GUARDS.get((obj, name))
    return None


def guarded_write(obj: Any) -> Any:
    """The target of ``obj[k] = v``, ``del obj[k]`` or ``obj.a = v``: only the snippet's own dicts and lists."""
    kind = type(obj)
    if kind is dict or kind is list:
        return obj
    if kind is FrozenDict or kind is FrozenList:
        deny(
            "the data passed to a code rule (event, entity, context, results) is read-only: change a copy, "
            "e.g. attributes = event['attributes'].copy(), or return set_attributes(...)"
        )
    deny(f"a {kind.__name__} can't be changed in a code rule: only dicts and lists the code built itself can")


def safe_isinstance(obj: Any, classinfo: Any) -> bool:
    return isinstance(unwrap(obj), _unguard(classinfo))


def _unguard(classinfo: Any) -> Any:
    if type(classinfo) is GuardedType:
        return classinfo.wraps
    if type(classinfo) is tuple:
        return tuple(_unguard(item) for item in classinfo)
    return classinfo


def safe_iter(iterable: Any, /) -> Any:
    """``iter(x)`` only: ``iter(f, sentinel)`` could loop forever inside C code."""
    return iter(iterable)


def apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``f(*args, **kwargs)`` as rewritten by RestrictedPython."""
    return function(*args, **kwargs)


_IO = "they cannot do I/O; return a value or actions instead"
_INTROSPECTION = "introspection reaches interpreter internals and could leave the sandbox"
_DYNAMIC = "they cannot run code built at run time"
FORBIDDEN_NAMES: dict[str, str] = {
    **dict.fromkeys(("open", "input", "print", "help", "breakpoint", "exit", "quit"), _IO),
    **dict.fromkeys(("eval", "exec", "compile"), _DYNAMIC),
    "__import__": "they cannot import modules",
    **dict.fromkeys(
        (
            "getattr", "setattr", "delattr", "hasattr", "vars", "dir", "globals", "locals", "type", "object",
            "super", "id", "memoryview", "classmethod", "staticmethod", "property", "issubclass", "callable",
        ),
        _INTROSPECTION,
    ),
    "bytearray": "use str or bytes literals",
    "format": "use an f-string",
    "pow": "use the ** operator",
}  # fmt: skip

GUARDS: dict[str, Any] = {
    "_getattr_": guarded_getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_write_": guarded_write,
    "_apply_": apply,
    "_inplacevar_": _limits.guarded_inplace,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_add_": _limits.guarded_add,
    "_mul_": _limits.guarded_mul,
    "_pow_": _limits.guarded_pow,
    "_lshift_": _limits.guarded_lshift,
    "_mod_": _limits.guarded_mod,
    "_format_": _limits.guarded_format,
    "_tick_": None,  # per run: see _clock
    "_enter_": None,
}

_PLAIN = (
    abs, all, any, bool, chr, dict, divmod, enumerate, filter, float, frozenset, len, list, map, max, min, next,
    ord, reversed, set, slice, sorted, tuple, zip,
    ArithmeticError, AttributeError, Exception, IndexError, KeyError, LookupError, OverflowError, StopIteration,
    TypeError, ValueError, ZeroDivisionError,
)  # fmt: skip

_DECIMAL_MEMBERS = (
    "Decimal", "DecimalException", "DivisionByZero", "InvalidOperation", "Overflow", "ROUND_05UP",
    "ROUND_CEILING", "ROUND_DOWN", "ROUND_FLOOR", "ROUND_HALF_DOWN", "ROUND_HALF_EVEN", "ROUND_HALF_UP", "ROUND_UP",
)  # fmt: skip

BUILTINS: dict[str, Any] = {
    **{item.__name__: item for item in _PLAIN},
    "int": GuardedType(int, _limits.safe_int),
    "range": GuardedType(range, _limits.safe_range),
    "str": GuardedType(str, _limits.safe_str),
    "repr": _limits.safe_repr,
    "round": _limits.safe_round,
    "sum": _limits.safe_sum,
    "isinstance": safe_isinstance,
    "iter": safe_iter,
    "math": SafeModule("math", _limits.math_members()),
    "decimal": SafeModule("decimal", {name: getattr(decimal, name) for name in _DECIMAL_MEMBERS}),
    "Decimal": decimal.Decimal,
    "datetime": datetime,
    "date": date,
    "timedelta": timedelta,
    "timezone": timezone,
    "set_status": _actions.set_status,
    "set_attributes": _actions.set_attributes,
    "send_event": _actions.send_event,
    "set_context": _actions.set_context,
}
"""The names every snippet sees (besides the ones the engine passes)."""

SANDBOX_BUILTINS: dict[str, Any] = {**BUILTINS, **GUARDS}
"""``__builtins__`` of the snippet's globals: the curated names plus the guards."""

assert not FORBIDDEN_NAMES.keys() & SANDBOX_BUILTINS.keys()
