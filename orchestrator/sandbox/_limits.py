"""Size limits: operators and built-ins that could build a huge object in one uninterruptible C call.

The time limit only fires between lines, so ``'x' * 10**10`` or ``10**10**10`` must be refused before the
work starts. The policy turns ``a * b``, ``a ** b``, ``a << b``, ``a + b`` and ``a % b`` into calls to the
guards below; string and list methods that grow their result are guarded when looked up (see
``METHOD_GUARDS``)."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from orchestrator.sandbox._errors import over_limit
from orchestrator.sandbox._views import FrozenDict, FrozenList, unwrap

MAX_SEQUENCE_LEN = 100_000
"""Longest str / bytes / list / tuple an operation may build, and the most items ``str()`` may render."""
MAX_RANGE_LEN = 100_000
MAX_RENDER_DEPTH = 100
MAX_INT_BITS = 100_000
"""Largest int an operation may build (about 30,000 decimal digits)."""
MAX_DECIMAL_DIGITS = 10_000
"""Largest |exponent| of a Decimal converted to int or formatted in fixed point."""
MAX_FORMAT_WIDTH = 10_000
MAX_INT_TEXT = 5_000
MAX_FACTORIAL = 5_000
MAX_COMBINATIONS_N = 10_000

_SEQUENCES = (str, bytes, list, tuple, FrozenList)
_CONTAINERS = (list, tuple, dict, set, frozenset, FrozenList, FrozenDict)


def check_len(size: int, what: str) -> None:
    if size > MAX_SEQUENCE_LEN:
        over_limit(f"{what} would hold {size:,} items; code rules may build at most {MAX_SEQUENCE_LEN:,}")


def _check_bits(bits: float, what: str) -> None:
    if bits > MAX_INT_BITS:
        over_limit(f"{what} would be a {int(bits):,}-bit integer; code rules may build at most {MAX_INT_BITS:,} bits")


def check_decimal(value: Decimal, what: str) -> None:
    if value.is_finite() and abs(value.adjusted()) > MAX_DECIMAL_DIGITS:
        over_limit(f"{what} of a Decimal with exponent {value.adjusted():,} is too large for a code rule")


def check_render(value: Any, what: str) -> None:
    """Rendering a container as text walks it in C, and shared sub-lists (``[row] * n``) are walked every
    time they appear: refuse before the walk when it would visit more than ``MAX_SEQUENCE_LEN`` items."""
    if isinstance(value, _CONTAINERS) and _render_budget(value, MAX_SEQUENCE_LEN, 0) < 0:
        over_limit(f"{what} of this value would render more than {MAX_SEQUENCE_LEN:,} items")


def _render_budget(value: Any, budget: int, depth: int) -> int:
    value = unwrap(value)
    if isinstance(value, str | bytes):
        return budget - len(value)
    if not isinstance(value, Mapping | list | tuple | set | frozenset):
        return budget - 1
    if depth > MAX_RENDER_DEPTH:
        over_limit(f"a value nested more than {MAX_RENDER_DEPTH} levels deep can't be rendered as text")
    budget -= len(value)
    items = value.items() if isinstance(value, Mapping) else value
    for item in items:
        budget = _render_budget(item, budget, depth + 1)
        if budget < 0:
            break
    return budget


def guarded_add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        check_len(len(a) + len(b), "'+'")
    return a + b


def _check_mul(a: Any, b: Any, what: str) -> None:
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(a.bit_length() + b.bit_length(), what)
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        check_len(len(a) * b, what)
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        check_len(len(b) * a, what)


def guarded_mul(a: Any, b: Any) -> Any:
    _check_mul(a, b, "'*'")
    return a * b


def guarded_pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a not in (0, 1, -1):
        _check_bits(b * math.log2(abs(a)), "'**'")
    return a**b


def guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a:
        _check_bits(a.bit_length() + b, "'<<'")
    return a << b


_PERCENT_SPEC = re.compile(r"%%|%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def guarded_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        _check_percent_format(a if isinstance(a, str) else a.decode("latin-1"))
        check_render(b, "'%' formatting")
        for arg in b if isinstance(b, tuple) else (b,):
            if isinstance(arg, Decimal):
                check_decimal(arg, "'%' formatting")
    return a % b


def _check_percent_format(template: str) -> None:
    for match in _PERCENT_SPEC.finditer(template):
        for number in match.groups():
            if number == "*":
                over_limit("'*' widths in '%' formatting are not supported in code rules: write the width")
            if number is not None:
                _check_width(number)


def _check_width(digits: str) -> None:
    if len(digits) > 6 or int(digits) > MAX_FORMAT_WIDTH:
        over_limit(f"a format width or precision of {digits} is too large; code rules allow up to {MAX_FORMAT_WIDTH:,}")


_SPEC_NUMBER = re.compile(r"\d+")
_CONVERSIONS: dict[int, Callable[[Any], str]] = {115: str, 114: repr, 97: ascii}


def guarded_format(value: Any, spec: str, conversion: int) -> str:
    """An f-string field: ``f'{rows}'`` or ``f'{x:>{w}}'`` cannot render or pad gigabytes of text."""
    check_render(value, "an f-string")
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    if spec:
        for digits in _SPEC_NUMBER.findall(spec):
            _check_width(digits)
        if isinstance(value, Decimal):
            check_decimal(value, "formatting")
    return format(value, spec)


def guarded_inplace(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _iadd(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        check_len(len(a) + len(b), "'+='")
    a += b
    return a


def _imul(a: Any, b: Any) -> Any:
    _check_mul(a, b, "'*='")
    a *= b
    return a


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _iadd,
    "-=": operator.isub,
    "*=": _imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": guarded_mod,
    "**=": guarded_pow,
    "<<=": guarded_lshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "&=": operator.iand,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


# ---- built-ins


def safe_range(*args: Any) -> range:
    values = range(*args)
    try:
        size = len(values)
    except OverflowError:
        size = MAX_RANGE_LEN + 1
    if size > MAX_RANGE_LEN:
        over_limit(f"range() of {size:,} numbers is too large; code rules allow up to {MAX_RANGE_LEN:,}")
    return values


def safe_int(*args: Any, **kwargs: Any) -> int:
    if args:
        value = args[0]
        if isinstance(value, Decimal):
            check_decimal(value, "int()")
        elif isinstance(value, str | bytes) and len(value) > MAX_INT_TEXT:
            over_limit(f"int() of a {len(value):,}-character string is too large for a code rule")
    return int(*args, **kwargs)


def safe_str(*args: Any, **kwargs: Any) -> str:
    if args:
        check_render(args[0], "str()")
    return str(*args, **kwargs)


def safe_repr(value: Any, /) -> str:
    check_render(value, "repr()")
    return repr(value)


def safe_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None and isinstance(number, Decimal):
        check_decimal(number, "round()")
    return round(number, ndigits)


def safe_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    if not isinstance(start, int | float | Decimal):
        raise TypeError("sum() adds numbers only: use ''.join(...) for strings or a loop for lists")
    return sum(iterable, start)


# ---- methods that grow their result: (owner type, name) -> guard taking the object first


def _padding(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, width: Any, *args: Any) -> Any:
        if isinstance(width, int):
            check_len(width, f"{method.__name__}()")
        return method(self, width, *args)

    return guarded


def _expandtabs(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, tabsize: Any = 8) -> Any:
        if isinstance(tabsize, int) and isinstance(self, str | bytes):
            check_len(len(self) * max(tabsize, 1), "expandtabs()")
        return method(self, tabsize)

    return guarded


def _join(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, iterable: Iterable[Any]) -> Any:
        items = list(iterable)
        total = sum(len(item) for item in items if isinstance(item, str | bytes))
        if isinstance(self, str | bytes):
            check_len(total + len(self) * max(len(items) - 1, 0), "join()")
        return method(self, items)

    return guarded


def _replace(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, old: Any, new: Any, count: Any = -1) -> Any:
        if isinstance(self, str | bytes) and isinstance(old, str | bytes) and isinstance(new, str | bytes):
            found = self.count(old)  # type: ignore[arg-type]
            if isinstance(count, int) and count >= 0:
                found = min(found, count)
            check_len(len(self) + found * max(len(new) - len(old), 0), "replace()")
        return method(self, old, new, count)

    return guarded


def _translate(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, table: Any) -> Any:
        if isinstance(self, str) and isinstance(table, Mapping):
            longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
            check_len(len(self) * longest, "translate()")
        return method(self, table)

    return guarded


def _extend(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, iterable: Any) -> Any:
        if isinstance(self, list) and isinstance(iterable, (*_SEQUENCES, dict)):
            check_len(len(self) + len(iterable), "extend()")
        return method(self, iterable)

    return guarded


def _to_bytes(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, length: Any = 1, *args: Any, **kwargs: Any) -> Any:
        if isinstance(length, int):
            check_len(length, "to_bytes()")
        return method(self, length, *args, **kwargs)

    return guarded


def _as_integer_ratio(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any) -> Any:
        if isinstance(self, Decimal):
            check_decimal(self, "as_integer_ratio()")
        return method(self)

    return guarded


def _method_guards() -> dict[tuple[type, str], Callable[..., Any]]:
    guards: dict[tuple[type, str], Callable[..., Any]] = {}
    wrappers = {
        "center": _padding,
        "ljust": _padding,
        "rjust": _padding,
        "zfill": _padding,
        "expandtabs": _expandtabs,
        "join": _join,
        "replace": _replace,
    }
    for owner in (str, bytes):
        for name, wrap in wrappers.items():
            guards[owner, name] = wrap(getattr(owner, name))
    guards[str, "translate"] = _translate(str.translate)
    guards[list, "extend"] = _extend(list.extend)
    guards[int, "to_bytes"] = _to_bytes(int.to_bytes)
    guards[bool, "to_bytes"] = guards[int, "to_bytes"]
    guards[Decimal, "as_integer_ratio"] = _as_integer_ratio(Decimal.as_integer_ratio)
    return guards


METHOD_GUARDS = _method_guards()
GUARDED_METHOD_NAMES = frozenset(name for _, name in METHOD_GUARDS)


# ---- math functions whose result can explode


def _factorial(n: Any) -> int:
    if isinstance(n, int) and n > MAX_FACTORIAL:
        over_limit(f"factorial({n:,}) is too large; code rules allow up to factorial({MAX_FACTORIAL:,})")
    return math.factorial(n)


def _combinatorial(function: Callable[..., int]) -> Callable[..., int]:
    def guarded(n: Any, *args: Any) -> int:
        if isinstance(n, int) and n > MAX_COMBINATIONS_N:
            over_limit(f"{function.__name__}() of {n:,} is too large; code rules allow n up to {MAX_COMBINATIONS_N:,}")
        return function(n, *args)

    return guarded


def _prod(iterable: Iterable[Any], /, *, start: Any = 1) -> Any:
    result = start
    for item in iterable:
        result = guarded_mul(result, item)
    return result


def _lcm(*integers: Any) -> int:
    result = 1
    for integer in integers:
        result = math.lcm(result, integer)
        _check_bits(result.bit_length(), "lcm()")
    return result


def _rounding(function: Callable[[Any], int]) -> Callable[[Any], int]:
    def guarded(x: Any) -> int:
        if isinstance(x, Decimal):
            check_decimal(x, f"{function.__name__}()")
        return function(x)

    return guarded


def math_members() -> dict[str, Any]:
    members = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    members.update(
        factorial=_factorial,
        comb=_combinatorial(math.comb),
        perm=_combinatorial(math.perm),
        prod=_prod,
        lcm=_lcm,
        floor=_rounding(math.floor),
        ceil=_rounding(math.ceil),
        trunc=_rounding(math.trunc),
    )
    return members
