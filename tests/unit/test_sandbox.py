"""Code rules that should work: compile once, run with read-only data, return values and actions."""

from __future__ import annotations

import decimal
import subprocess
import sys
import timeit
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import pytest

from orchestrator.sandbox import (
    BUILTIN_NAMES,
    CodeError,
    CodeLimitError,
    CodeRuntimeError,
    CodeTimeout,
    compile_code,
    set_context,
    set_status,
    split_result,
)

FILE = "rulesets/inventory.yaml"


def names(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": {
            "name": "CheckStock",
            "entityRef": "O-1",
            "scheduledOn": datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
            "attributes": {"lines": [{"sku": "A", "qty": 2, "price": "1.10"}, {"sku": "B", "qty": 1, "price": "5"}]},
        },
        "entity": {"ref": "O-1", "status": "CREATED", "attributes": {"threshold": 3, "stock": {"A": 1, "B": 9}}},
        "context": {"warehouse": "W1"},
        "results": [{"checked": True}],
        "result": {"checked": True},
    }
    base.update(overrides)
    return base


def run(source: str, first_line: int = 1, **overrides: Any) -> Any:
    return compile_code(source, FILE, first_line).run(names(**overrides))


# ---- good snippets


def test_arithmetic_with_decimal_is_exact_and_returned_as_a_string() -> None:
    source = """
total = sum(Decimal(line['price']) * line['qty'] for line in event['attributes']['lines'])
return total.quantize(Decimal('0.01'), rounding=decimal.ROUND_HALF_UP)
"""
    assert run(source) == "7.20"


def test_datetime_arithmetic_and_iso_output() -> None:
    source = """
due = event['scheduledOn'] + timedelta(days=2, hours=3)
return {'due': due, 'day': due.date(), 'weekday': due.weekday(), 'utc': due.astimezone(timezone.utc).hour}
"""
    assert run(source) == {"due": "2026-11-23T15:00:00+00:00", "day": "2026-11-23", "weekday": 0, "utc": 15}


def test_loops_comprehensions_and_functions_over_the_inputs() -> None:
    source = """
def short(line):
    return entity['attributes']['stock'].get(line['sku'], 0) < line['qty']

missing = []
for line in event['attributes']['lines']:
    if short(line):
        missing.append(line['sku'])
counts = {}
for sku, qty in [(l['sku'], l['qty']) for l in event['attributes']['lines']]:
    counts[sku] = counts.get(sku, 0)
    counts[sku] += qty
return {'missing': missing, 'counts': counts, 'squares': {n: n * n for n in range(3) if n}.get(2),
        'sorted': sorted(counts, key=lambda k: -counts[k]), 'zip': list(zip('ab', enumerate([5, 6])))}
"""
    assert run(source) == {
        "missing": ["A"],
        "counts": {"A": 2, "B": 1},
        "squares": 4,
        "sorted": ["A", "B"],
        "zip": [["a", [0, 5]], ["b", [1, 6]]],
    }


def test_reading_context_results_and_the_previous_result() -> None:
    source = "return [context['warehouse'], results[0]['checked'], result['checked'], len(results)]"
    assert run(source) == ["W1", True, True, 1]


def test_curated_builtins_behave_like_python() -> None:
    source = """
return [abs(-2), all([1]), any([]), round(2.675, 2), max(3, 7), min([4, 2]), int('12') + int(2.9),
        float('1.5'), str(12), bool(0), list((1, 2)), tuple([1]), sorted(set([3, 1, 3])), len('abc'),
        isinstance(event, dict), isinstance(3, (str, int)), list(map(str, range(3))),
        list(filter(None, [0, 1, 2])), math.sqrt(16), math.floor(2.5), divmod(7, 2), next(iter([9])),
        f'{3.14159:.2f}|{"x":>3}|{42!r}', '%05.1f' % 2.25, 2 ** 10, 1 << 4, 'ab' * 2]
"""
    assert run(source) == [
        2, True, False, 2.67, 7, 2, 14, 1.5, "12", False, [1, 2], [1], [1, 3], 3, True, True,
        ["0", "1", "2"], [1, 2], 4.0, 2, [3, 1], 9, "3.14|  x|42", "002.2", 1024, 16, "abab",
    ]  # fmt: skip


def test_builtin_names_are_the_curated_set() -> None:
    assert {"math", "Decimal", "datetime", "len", "sorted", "set_status", "send_event"} <= BUILTIN_NAMES
    assert not {"open", "getattr", "type", "eval", "exec", "print", "globals", "vars", "__import__"} & BUILTIN_NAMES


def test_exceptions_the_snippet_raises_and_catches_behave_normally() -> None:
    source = """
try:
    value = event['attributes']['missing']
except KeyError:
    value = 'default'
return value
"""
    assert run(source) == "default"


# ---- returned values and actions


def test_returning_actions_builds_markers() -> None:
    source = """
return [set_status('BOOKED'), set_attributes(total=Decimal('7.20'), lines=2),
        send_event('Reorder', entity_type='PRODUCT', entity_ref='A', attributes={'qty': 2}),
        send_event('Notify'), set_context(checked=True)]
"""
    result, actions = split_result(run(source))
    assert result is None
    assert actions == [
        {"action": "setStatus", "status": "BOOKED"},
        {"action": "setAttributes", "values": {"total": "7.20", "lines": 2}},
        {
            "action": "sendEvent",
            "name": "Reorder",
            "attributes": {"qty": 2},
            "eventType": "NORMAL",
            "target": {"entityType": "PRODUCT", "entityRef": "A", "entitySubtype": None},
        },
        {"action": "sendEvent", "name": "Notify", "attributes": {}, "eventType": "NORMAL", "target": None},
        {"action": "setContext", "values": {"checked": True}},
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (None, [])),
        (set_status("X"), (None, [set_status("X")])),
        ([set_status("X"), set_context(a=1)], (None, [set_status("X"), set_context(a=1)])),
        ({"result": 5, "actions": [set_status("X")]}, (5, [set_status("X")])),
        ({"result": 5}, ({"result": 5}, [])),
        ([], ([], [])),
        ([1, 2], ([1, 2], [])),
        ({"action": "ship"}, ({"action": "ship"}, [])),
        ("text", ("text", [])),
    ],
)
def test_split_result_contract(value: Any, expected: tuple[Any, list[Any]]) -> None:
    assert split_result(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([set_status("X"), 3], "mixes actions and other values"),
        ({"result": 1, "actions": [3]}, r"actions\[0\] is not an action"),
        ({"result": 1, "actions": "x"}, "must be a list"),
        ({"action": "setStatus", "status": 3}, "malformed setStatus action"),
        ({"action": "sendEvent", "name": "N", "attributes": {}, "eventType": "N", "target": {}}, "target needs"),
    ],
)
def test_split_result_refuses_malformed_returns(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_result(value)


def test_a_malformed_return_fails_the_run_with_the_snippet_location() -> None:
    with pytest.raises(CodeRuntimeError, match="mixes actions") as caught:
        run("return [set_status('X'), 1]", first_line=40)
    assert caught.value.line == 40


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("return set_status('')", "non-empty string"),
        ("return set_attributes()", "at least one value"),
        ("return send_event('N', entity_type='PRODUCT')", "go together"),
        ("return set_context({1: 2})", "keys must be strings"),
        ("return set_attributes(['a'])", "takes a dict of values"),
    ],
)
def test_action_constructors_validate(source: str, message: str) -> None:
    with pytest.raises(CodeRuntimeError, match=message):
        run(source)


def test_returned_values_are_normalised_to_fresh_json() -> None:
    value = run("return {'t': (1, 2), 'd': Decimal('1.50'), 'when': event['scheduledOn'], 'e': event['entityRef']}")
    assert value == {"t": [1, 2], "d": "1.50", "when": "2026-11-21T12:00:00+00:00", "e": "O-1"}


def test_returning_input_data_gives_a_copy() -> None:
    data = names()
    value = compile_code("return event['attributes']", FILE).run(data)
    value["lines"].clear()
    assert len(data["event"]["attributes"]["lines"]) == 2


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("return {1, 2}", "contains a set; return a list"),
        ("return {1: 'a'}", "dict keys must be strings"),
        ("return float('inf')", "inf, which JSON cannot represent"),
        ("return 2 ** 70", "outside the 64-bit range"),
        ("return timedelta(days=1)", "contains a timedelta"),
        ("return lambda: 1", "contains a function"),
    ],
)
def test_values_json_cannot_hold_are_refused(source: str, message: str) -> None:
    with pytest.raises(CodeRuntimeError, match=message):
        run(source)


def test_returned_value_size_limit_is_configurable() -> None:
    code = compile_code("return 'x' * 500", FILE)
    assert len(code.run({}, max_output_bytes=1000)) == 500
    with pytest.raises(CodeLimitError, match="at most 100 bytes"):
        code.run({}, max_output_bytes=100)


# ---- read-only inputs


def test_inputs_are_read_only_views_that_read_like_dicts_and_lists() -> None:
    source = """
lines = event['attributes']['lines']
return [len(lines), 'lines' in event['attributes'], list(event['attributes']), lines[0]['sku'],
        lines[-1:][0]['sku'], [k for k, v in entity['attributes']['stock'].items() if v > 1],
        event['attributes'].get('none', 'dflt'), lines == [dict(l) for l in lines], lines.index(lines[1]),
        (lines + [1])[-1], isinstance(lines, list), dict(context) == context]
"""
    assert run(source) == [2, True, ["lines"], "A", "B", ["B"], "dflt", True, 1, 1, True, True]


def test_copy_gives_the_snippet_a_mutable_deep_copy_without_touching_the_input() -> None:
    data = names()
    source = """
attributes = event['attributes'].copy()
attributes['lines'][0]['qty'] = 99
attributes['lines'].append({'sku': 'C'})
return attributes['lines'][0]['qty'], len(attributes['lines'])
"""
    assert compile_code(source, FILE).run(data) == [99, 3]
    assert data["event"]["attributes"]["lines"] == [
        {"sku": "A", "qty": 2, "price": "1.10"},
        {"sku": "B", "qty": 1, "price": "5"},
    ]


def test_names_must_be_plain_identifiers_and_values_json_like() -> None:
    code = compile_code("return 1", FILE)
    with pytest.raises(ValueError, match="not starting with '_'"):
        code.run({"_secret": 1})
    with pytest.raises(TypeError, match="can't be passed to a code rule"):
        code.run({"event": object()})


# ---- compile once, errors with locations


def test_compile_once_run_many_with_no_state_between_runs() -> None:
    code = compile_code("seen = []\nseen.append(event['n'])\nreturn seen", FILE)
    assert [code.run({"event": {"n": n}}) for n in range(3)] == [[0], [1], [2]]


def test_free_names_and_known_names() -> None:
    code = compile_code("return event['a'] + len(results)", FILE)
    assert code.free_names == {"event", "results"}
    with pytest.raises(CodeError, match="unknown name 'evnt'") as caught:
        compile_code("x = 1\nreturn evnt['a']", FILE, 20, known_names=["event", "entity"])
    assert (caught.value.filename, caught.value.line) == (FILE, 21)


def test_syntax_errors_point_at_the_workflow_file_line() -> None:
    with pytest.raises(CodeError, match="invalid Python") as caught:
        compile_code("x = 1\nif x\n    pass\n", FILE, first_line=30)
    assert caught.value.line == 31
    assert str(caught.value).endswith(f"at {FILE}:31")


def test_indented_snippets_are_dedented() -> None:
    assert compile_code("    x = 2\n    return x * 3\n", FILE).run({}) == 6


def test_runtime_errors_name_the_exception_and_the_failing_line() -> None:
    source = "def ratio(a, b):\n    return a / b\n\nx = 1\nreturn ratio(x, 0)"
    with pytest.raises(CodeRuntimeError) as caught:
        compile_code(source, FILE, first_line=30).run({})
    assert str(caught.value) == f"ZeroDivisionError: division by zero at {FILE}:31"
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    assert caught.value.as_dict() == {
        "error": "CodeRuntimeError",
        "message": "ZeroDivisionError: division by zero",
        "file": FILE,
        "line": 31,
    }


def test_decimal_context_is_fixed_per_run_and_the_host_context_restored() -> None:
    code = compile_code("return Decimal(1) / Decimal(3)", FILE)
    with decimal.localcontext() as host:
        host.prec = 5
        assert code.run({}) == "0.3333333333333333333333333333"
        assert decimal.getcontext() is host
        assert host.prec == 5


# ---- limits and the host


def test_the_host_trace_function_is_left_in_place_and_keeps_working() -> None:
    events: list[str] = []

    def tracer(frame: Any, event: str, arg: Any) -> None:
        events.append(event)

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        assert compile_code("return [x for x in range(3)]", FILE).run({}) == [0, 1, 2]
        assert sys.gettrace() is tracer
        with pytest.raises(CodeTimeout):
            compile_code("while True: pass", FILE).run({}, time_limit_s=0.01)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)
    assert events.count("call") > 3  # the host's tracer saw the runs' calls


def test_the_time_limit_is_configurable() -> None:
    code = compile_code("n = 0\nfor i in range(1000):\n    for j in range(300):\n        n += j\nreturn n", FILE)
    assert code.run({}, time_limit_s=5.0) == 1000 * sum(range(300))
    with pytest.raises(CodeTimeout, match="time limit of 1 ms"):
        code.run({}, time_limit_s=0.001)


def test_recursion_near_the_host_limit_is_a_runtime_error_and_leaves_the_host_intact() -> None:
    code = compile_code("def f(n):\n    return f(n + 1)\nreturn f(0)", FILE)
    limit = sys.getrecursionlimit()

    def depth() -> int:
        frame: FrameType | None = sys._getframe()
        count = 0
        while frame is not None:
            frame, count = frame.f_back, count + 1
        return count

    def at(levels: int) -> None:
        if levels:
            at(levels - 1)
            return
        with pytest.raises(CodeRuntimeError, match="RecursionError"):
            code.run({})

    at(limit - depth() - 40)  # fewer frames left than the sandbox's own depth limit
    assert sys.getrecursionlimit() == limit
    assert compile_code("return 1", FILE).run({}) == 1


def test_the_sandbox_imports_no_io_library() -> None:
    probe = (
        "import sys, orchestrator.sandbox; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'redis', 'aiokafka', 'faust', 'structlog'}))"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# ---- performance


def test_a_trivial_snippet_runs_in_microseconds() -> None:
    code = compile_code("return set_status('BOOKED') if event['name'] == 'CheckStock' else None", FILE)
    data = names()
    per_run = min(timeit.repeat(lambda: code.run(data), number=1000, repeat=5)) / 1000
    print(f"trivial snippet run: {per_run * 1e6:.1f} us")
    assert per_run < 30e-6
