"""The condition API (compile_condition, Condition), data shapes beyond plain dicts, and code-generation safety."""

from __future__ import annotations

import dataclasses
import doctest
import threading
from decimal import Decimal
from types import MappingProxyType

import pytest

import orchestrator.conditions
from orchestrator.conditions import Condition, compile_condition
from orchestrator.conditions._compile import HELPERS

SCOPE = {
    "event": {"name": "CREATE", "attributes": {"total": 612.5, "qty": 3}},
    "entity": {"status": "BOOKED", "ref": "HD-001"},
}

# --------------------------------------------------------------------------------------------- the API


def test_public_api() -> None:
    text = "event.attributes.total > 500 AND entity.status IN ('BOOKED', 'PICKING')"
    condition = compile_condition(text)
    assert isinstance(condition, Condition)
    assert condition.source == text
    assert condition.names_used == {"event", "entity"}
    assert repr(condition) == f"Condition({text!r})"
    assert condition.evaluate(SCOPE) is True
    assert condition(SCOPE) is True


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("TRUE", set()),
        ("1 + 1 = 2", set()),
        ("result.result", {"result"}),
        ("context.limits.max > event.attributes.total OR entity.ref LIKE 'HD%'", {"context", "event", "entity"}),
        ("'GIFT' IN event.attributes.tags", {"event"}),
        ("entity.status IN (context.a, result.b)", {"entity", "context", "result"}),
    ],
)
def test_names_used(text: str, names: set[str]) -> None:
    assert compile_condition(text).names_used == names


def test_the_scope_needs_only_the_names_used() -> None:
    condition = compile_condition("entity.status = 'BOOKED'")
    assert condition.evaluate({"entity": {"status": "BOOKED"}}) is True
    assert condition.evaluate({}) is False  # a missing root is NULL


def test_identical_texts_share_one_compiled_condition() -> None:
    assert compile_condition("result.result") is compile_condition("result.result")


def test_conditions_compare_by_source() -> None:
    assert compile_condition("TRUE") == compile_condition("TRUE")
    assert compile_condition("TRUE") != compile_condition("FALSE")
    assert len({compile_condition("TRUE"), compile_condition("TRUE")}) == 1


def test_constant_parts_are_worked_out_at_compile_time() -> None:
    assert compile_condition("2 + 3 * 4 = 14").python_source == "lambda scope: True"
    assert "1000" in compile_condition("entity.x > 10 * 100").python_source


def test_the_module_docstring_examples_run() -> None:
    failed, attempted = doctest.testmod(orchestrator.conditions, raise_on_error=False, verbose=False)
    assert (failed, attempted) == (0, 3)


def test_a_condition_is_text() -> None:
    with pytest.raises(TypeError, match="a condition is text"):
        compile_condition(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- data shapes


def test_mappings_that_are_not_dicts() -> None:
    scope = MappingProxyType({"entity": MappingProxyType({"attributes": MappingProxyType({"express": True})})})
    assert compile_condition("entity.attributes.express").evaluate(scope) is True


def test_tuples_index_like_lists() -> None:
    scope = {"event": {"lines": ({"sku": "A"}, {"sku": "B"})}}
    assert compile_condition("event.lines[1].sku = 'B'").evaluate(scope) is True


@dataclasses.dataclass
class _Order:
    status: str
    _secret: str = "hidden"

    @property
    def broken(self) -> str:
        raise RuntimeError("boom")


def test_objects_are_read_by_public_attribute_only() -> None:
    scope = {"entity": _Order(status="BOOKED")}
    assert compile_condition("entity.status = 'BOOKED'").evaluate(scope) is True
    assert compile_condition("entity._secret IS NULL").evaluate(scope) is True
    assert compile_condition("entity.broken IS NULL").evaluate(scope) is True  # a raising property is NULL
    assert compile_condition("entity.status.upper IS NULL").evaluate(scope) is True  # no methods of str


def test_float_nan_and_infinity_do_not_crash() -> None:
    scope = {"event": {"nan": float("nan"), "inf": float("inf"), "d": Decimal("NaN")}}
    for text in (
        "event.nan = event.nan",
        "event.nan > 1",
        "event.d > 1.5",
        "event.d = 1",
        "event.inf > 1.5",
        "event.inf - event.inf > 0",
        "event.d + 1 > 0",
    ):
        assert compile_condition(text).evaluate(scope) in (True, False)
    assert compile_condition("event.inf > 1.5").evaluate(scope) is True


def test_huge_numbers_are_null_not_errors() -> None:
    scope = {"event": {"big": 10**400, "f": 1.5}}
    assert compile_condition("event.big * event.f IS NULL").evaluate(scope) is True
    assert compile_condition("event.big + event.f IS NULL").evaluate(scope) is True
    assert compile_condition("event.big > event.f").evaluate(scope) is True


def test_compiled_conditions_are_shared_between_threads() -> None:
    condition = compile_condition("event.attributes.qty * 2 = 6 AND event.name LIKE 'CRE%'")
    results: list[bool] = []

    def work() -> None:
        results.extend(condition.evaluate(SCOPE) for _ in range(500))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 2000


# --------------------------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "text",
    [
        "event.name = '__import__(''os'').system(''echo hi'')'",
        "event.name = 'a\\'' OR TRUE OR ''b'",  # one string: a\' OR TRUE OR 'b
        "event['__class__'] IS NULL",
        "event['a'')] + (''b'] IS NULL",
        "event.name = '\n' OR event.name = '\"\"\"'",
    ],
)
def test_strings_and_keys_never_become_code(text: str) -> None:
    condition = compile_condition(text)
    assert condition.evaluate(SCOPE) is text.endswith("IS NULL")
    code = condition._evaluator.__code__
    helpers = set(HELPERS) | {"get"}  # the helpers, and dict.get
    constants = {name for name in code.co_names if name.startswith("_k")}
    assert set(code.co_names) - constants <= helpers
    assert condition._evaluator.__globals__["__builtins__"] == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("result.result = TRUE", True),
        ("result.result", True),
        ("result.subject LIKE '%urgent%'", True),
        ("result.salary >= 5000", True),
        ("(result.salary >=5000) AND (result.age != 20)", True),
        ("result.map['keyname'] = 'value'", True),
        ("result.map['keyname'] <> 'value'", False),
    ],
)
def test_the_examples_of_the_flux_documentation(text: str, expected: bool) -> None:
    scope = {
        "result": {"result": True, "subject": "an urgent order", "salary": 5000, "age": 41, "map": {"keyname": "value"}}
    }
    assert compile_condition(text).evaluate(scope) is expected


def test_flux_upper_case_result_gets_a_hint() -> None:
    with pytest.raises(ValueError, match="unknown name 'RESULT'; did you mean 'result'"):
        compile_condition("RESULT.result")
