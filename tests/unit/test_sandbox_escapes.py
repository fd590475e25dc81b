"""Escape attempts: each must fail, at compile time or run time, with the right error and a clear message."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator.sandbox import (
    CodeError,
    CodeLimitError,
    CodeRuntimeError,
    CodeSecurityError,
    CodeTimeout,
    compile_code,
)

FILE = "rulesets/escape.yaml"
EVENT = {"name": "E", "attributes": {"qty": 1, "lines": [{"sku": "A"}]}}


def attempt(source: str) -> CodeError:
    """The error ``source`` ends with; fails the test if it compiles and runs to completion."""
    try:
        code = compile_code(source, FILE, first_line=10)
        value = code.run({"event": copy.deepcopy(EVENT), "x": 1}, time_limit_s=0.02)
    except CodeError as error:
        return error
    pytest.fail(f"escape attempt succeeded and returned {value!r}")


ESCAPES: list[tuple[str, str, type[CodeError], str]] = [
    # (id, source, expected error, message fragment)
    ("import", "import os", CodeSecurityError, "import statements are not allowed"),
    ("from-import", "from os import path", CodeSecurityError, "import statements are not allowed"),
    ("__import__", "__import__('os')", CodeSecurityError, 'starts with "_"'),
    ("open", "return open('/etc/passwd').read()", CodeSecurityError, "open() is not available"),
    ("subclasses", "return ().__class__.__bases__[0].__subclasses__()", CodeSecurityError, '"__class__"'),
    ("getattr", "return getattr(x, '__class__')", CodeSecurityError, "getattr() is not available"),
    ("type", "return type(x)", CodeSecurityError, "type() is not available"),
    ("eval", "return eval('1')", CodeSecurityError, "eval() is not allowed"),
    ("exec", "exec('x = 1')", CodeSecurityError, "exec() is not allowed"),
    ("compile", "return compile('1', 'f', 'eval')", CodeSecurityError, "compile() is not available"),
    ("globals", "return globals()", CodeSecurityError, "globals() is not available"),
    ("locals", "return locals()", CodeSecurityError, "locals() is not available"),
    ("code-object", "return (lambda: 0).__code__", CodeSecurityError, '"__code__"'),
    ("event-class", "return event.__class__", CodeSecurityError, '"__class__"'),
    ("fstring-dunder", "return f'{event.__class__}'", CodeSecurityError, '"__class__"'),
    ("str.format", "return '{0.__class__}'.format(1)", CodeSecurityError, "'format' is not allowed"),
    ("str.format-unbound", "return str.format('{0.__class__}', 1)", CodeSecurityError, "'format' is not allowed"),
    ("format_map", "return '{a}'.format_map({'a': 1})", CodeSecurityError, "'format_map' is not allowed"),
    ("gi_frame", "g = (i for i in [1])\nreturn g.gi_frame", CodeSecurityError, '"gi_frame"'),
    ("f_back", "g = (i for i in [1])\nreturn g.gi_frame.f_back.f_globals", CodeSecurityError, '"gi_frame"'),
    ("gi_code", "g = (i for i in [1])\nreturn g.gi_code", CodeSecurityError, '"gi_code"'),
    (
        "traceback-frame",
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    return e.__traceback__.tb_frame",
        CodeSecurityError,
        '"__traceback__"',
    ),
    ("setattr", "setattr(event, 'x', 1)", CodeSecurityError, "setattr() is not available"),
    ("delattr", "delattr(event, 'name')", CodeSecurityError, "delattr() is not available"),
    ("vars", "return vars()", CodeSecurityError, "vars() is not available"),
    ("dir", "return dir()", CodeSecurityError, "dir() is not available"),
    ("builtins", "return __builtins__", CodeSecurityError, 'starts with "_"'),
    ("mro", "return str.mro()", CodeSecurityError, "'mro' is not allowed"),
    ("print", "print('hi')", CodeSecurityError, "print() is not available"),
    ("class", "class A:\n    pass", CodeSecurityError, "class definitions are not allowed"),
    ("global", "global y\ny = 1", CodeSecurityError, "global statements are not allowed"),
    ("with", "with x:\n    pass", CodeSecurityError, "with statements are not allowed"),
    ("bare-except", "try:\n    pass\nexcept:\n    pass", CodeSecurityError, "bare 'except:' is not allowed"),
    ("finally", "try:\n    pass\nfinally:\n    pass", CodeSecurityError, "'finally' blocks are not allowed"),
    ("async", "async def f():\n    pass", CodeSecurityError, "AsyncFunctionDef"),
    ("top-level-yield", "yield 1", CodeSecurityError, "'yield' is not allowed at the top level"),
    ("math-loader", "return math.__loader__", CodeSecurityError, '"__loader__"'),
    ("decimal-sys", "return decimal.sys", CodeSecurityError, "decimal.sys is not available"),
    ("math-unknown", "return math.os", CodeSecurityError, "math.os is not available"),
    ("decimal-context", "decimal.getcontext().prec = 1", CodeSecurityError, "decimal.getcontext is not available"),
    ("clock", "return datetime.now()", CodeSecurityError, "rules must not read the clock"),
    ("clock-instance", "return date(2020, 1, 1).today()", CodeSecurityError, "rules must not read the clock"),
    ("write-event", "event['name'] = 'X'", CodeSecurityError, "is read-only"),
    ("write-nested", "event['attributes']['lines'][0]['sku'] = 'B'", CodeSecurityError, "is read-only"),
    ("augmented-write", "event['attributes']['qty'] += 1", CodeSecurityError, "is read-only"),
    ("delete-event-key", "del event['name']", CodeSecurityError, "is read-only"),
    ("update-event", "event['attributes'].update(qty=2)", CodeRuntimeError, "AttributeError"),
    ("dict-update-event", "dict.update(event, name='X')", CodeRuntimeError, "TypeError"),
    ("append-event", "event['attributes']['lines'].append(1)", CodeRuntimeError, "AttributeError"),
    ("write-function", "def f():\n    pass\nf.x = 1", CodeSecurityError, "can't be changed"),
    (
        "catch-denial",
        "try:\n    event['n'] = 1\nexcept Exception:\n    return 'escaped'",
        CodeSecurityError,
        "read-only",
    ),
    ("infinite-loop", "while True: pass", CodeTimeout, "ran longer than its time limit of 20 ms"),
    ("loop-catching", "try:\n    while True: pass\nexcept Exception:\n    return 'x'", CodeTimeout, "time limit"),
    ("busy-loop", "n = 0\nwhile n >= 0:\n    n += 1", CodeTimeout, "time limit"),
    ("endless-generator", "def g():\n    while True:\n        yield 1\nreturn list(g())", CodeTimeout, "time limit"),
    ("growing-list", "l = [1]\nfor i in l:\n    l.append(i)", CodeTimeout, "time limit"),
    ("growing-comprehension", "l = [1]\nreturn [l.append(i) for i in l]", CodeTimeout, "time limit"),
    ("iter-sentinel", "return list(iter(int, 1))", CodeRuntimeError, "TypeError"),
    ("str-repeat", "return 'x' * 10**10", CodeLimitError, "'*' would hold 10,000,000,000 items"),
    ("list-repeat", "return [0] * 10**10", CodeLimitError, "'*' would hold 10,000,000,000 items"),
    ("repeat-inplace", "s = 'x'\ns *= 10**10", CodeLimitError, "'*=' would hold"),
    ("power", "return 10**10**10", CodeLimitError, "'**' would be a 33,219,280,948-bit integer"),
    ("shift", "return 1 << 10**9", CodeLimitError, "'<<' would be a"),
    ("squaring", "a = 3\nfor i in range(40):\n    a = a * a", CodeLimitError, "'*' would be a"),
    ("range", "return list(range(10**12))", CodeLimitError, "range() of 1,000,000,000,000 numbers"),
    ("doubling", "s = 'ab'\nwhile True:\n    s = s + s", CodeLimitError, "'+' would hold"),
    ("extend", "l = [1]\nwhile True:\n    l.extend(l)", CodeLimitError, "extend() would hold"),
    ("ljust", "return 'a'.ljust(10**10)", CodeLimitError, "ljust() would hold"),
    ("unbound-ljust", "return str.ljust('a', 10**10)", CodeLimitError, "ljust() would hold"),
    ("join", "return ('x' * 10**5).join(['a'] * 100)", CodeLimitError, "join() would hold"),
    ("replace", "return ('x' * 10**5).replace('', 'y' * 100)", CodeLimitError, "replace() would hold"),
    ("expandtabs", "return '\\t'.expandtabs(10**9)", CodeLimitError, "expandtabs() would hold"),
    ("to_bytes", "return (1).to_bytes(10**10, 'big')", CodeLimitError, "to_bytes() would hold"),
    ("fstring-width", "return f'{1:>1000000000}'", CodeLimitError, "format width or precision of 1000000000"),
    ("percent-width", "return '%1000000000d' % 1", CodeLimitError, "format width or precision"),
    ("percent-star", "return '%*d' % (10**9, 1)", CodeLimitError, "'*' widths"),
    ("decimal-int", "return int(Decimal('1e999999999'))", CodeLimitError, "int() of a Decimal"),
    ("decimal-format", "return f\"{Decimal('1e999999'):f}\"", CodeLimitError, "formatting of a Decimal"),
    ("factorial", "return math.factorial(10**6)", CodeLimitError, "factorial(1,000,000) is too large"),
    ("sum-lists", "return sum([[1]] * 10, [])", CodeRuntimeError, "sum() adds numbers only"),
    ("render-shared", "row = [0] * 10**5\nreturn len(str([row] * 10**5))", CodeLimitError, "str() of this value"),
    ("render-fstring", "row = ['x'] * 10**5\nreturn len(f'{[row, row]}')", CodeLimitError, "an f-string of this"),
    ("render-repr", "row = [0] * 10**5\nreturn len(repr({'a': row, 'b': row}))", CodeLimitError, "repr() of this"),
    ("render-percent", "row = [0] * 10**5\nreturn '%s' % ([row] * 2,)", CodeLimitError, "'%' formatting of this"),
    ("recursion", "def f():\n    return f()\nreturn f()", CodeRuntimeError, "RecursionError"),
    ("lambda-recursion", "f = lambda: f()\nreturn f()", CodeRuntimeError, "RecursionError"),
    ("huge-result", "return ['x' * 1000] * 1000", CodeLimitError, "returned value is too large"),
    ("shared-result", "a = ['x'] * 1000\nb = [a] * 1000\nreturn [b] * 1000", CodeLimitError, "too large"),
    ("deep-result", "v = []\nfor i in range(100):\n    v = [v]\nreturn v", CodeLimitError, "nested more than"),
]


@pytest.mark.parametrize(("source", "expected", "message"), [e[1:] for e in ESCAPES], ids=[e[0] for e in ESCAPES])
def test_escape_attempt_fails_clearly(source: str, expected: type[CodeError], message: str) -> None:
    error = attempt(source)
    assert type(error) is expected, f"{type(error).__name__}: {error}"
    assert message in error.message
    assert error.filename == FILE
    assert error.line is not None
    assert 10 <= error.line < 10 + source.count("\n") + 1
    assert str(error).endswith(f"at {FILE}:{error.line}")


def test_straight_line_code_is_stopped_between_statements() -> None:
    source = "\n".join(["y = sorted(map(str, range(10**5)))"] * 200)
    with pytest.raises(CodeTimeout):
        compile_code(source, FILE).run({}, time_limit_s=0.02)


def test_writes_never_reach_the_callers_data() -> None:
    data: dict[str, Any] = {"event": copy.deepcopy(EVENT)}
    for source in ("event['name'] = 'X'", "event['attributes']['lines'][0]['sku'] = 'B'", "del event['name']"):
        with pytest.raises(CodeSecurityError):
            compile_code(source, FILE).run(data)
    assert compile_code("d = dict(event)\nd['name'] = 'X'\nreturn d['name']", FILE).run(data) == "X"
    assert data["event"] == EVENT


def test_compile_time_errors_point_at_the_offending_line() -> None:
    with pytest.raises(CodeSecurityError) as caught:
        compile_code("x = 1\ny = 2\nimport os", FILE, first_line=31)
    assert caught.value.line == 33
    assert "math, decimal" in caught.value.message  # says what is available instead


def test_a_timeout_names_the_line_that_was_running() -> None:
    with pytest.raises(CodeTimeout) as caught:
        compile_code("x = 1\nwhile True:\n    x = -x", FILE, first_line=5).run({}, time_limit_s=0.01)
    assert caught.value.line in (6, 7)


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    with pytest.raises(CodeSecurityError, match=r"and 2 more problem\(s\)") as caught:
        compile_code("a = 1\nreturn ().__class__.__bases__[0].__subclasses__()", FILE)
    assert '"__class__"' in caught.value.message
    assert caught.value.line == 2
