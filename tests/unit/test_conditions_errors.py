"""Conditions that do not compile: the message a retailer reads, the column, and the caret under the spot."""

from __future__ import annotations

import pickle

import pytest

from orchestrator.conditions import ConditionSyntaxError, compile_condition

ERRORS: list[tuple[str, int, str]] = [
    # (condition, 1-based column of the caret, words the message must contain)
    ("event.attributes.total > AND entity.status = 'BOOKED'", 26, "expected a value after '>'"),
    ("entity.status = ", 16, "expected a value after '='"),
    ("entity.status =", 16, "expected a value after '='"),
    ("entity.status = 'BOOKED' AND", 29, "expected a value after AND"),
    ("entity.status = 'BOOKED' OR OR TRUE", 29, "expected a value after OR"),
    ("NOT", 4, "expected a value after NOT"),
    ("event.name LIKE", 16, "expected a value after LIKE"),
    ("event.x IN ('A',", 17, "expected a value after ','"),
    ("-", 2, "expected a value after '-'"),
    ("(entity.status = 'BOOKED'", 1, "unbalanced parenthesis: this '(' is never closed"),
    ("((TRUE) AND (FALSE)", 1, "unbalanced parenthesis"),
    ("entity.status IN ('A', 'B'", 18, "unbalanced parenthesis"),
    ("entity.status = 'BOOKED')", 25, "unbalanced parenthesis: this ')' has no matching '('"),
    ("TRUE) OR (FALSE", 5, "unbalanced parenthesis"),
    ("entity.status = 'BOOKED", 17, "unclosed string"),
    ("'", 1, "unclosed string"),
    ('entity.status = "BOOKED"', 17, "strings are written in single ticks"),
    ("entity.status == 'BOOKED'", 16, "write a single '=' to compare, not '=='"),
    ("entity.status § 'BOOKED'", 15, "unexpected character '§'"),
    ("entity.status = 'A' && TRUE", 21, "unexpected character '&': write AND"),
    ("entity.status = 'A' || TRUE", 21, "write OR"),
    ("! TRUE", 1, "write NOT"),
    ("entity.status 'BOOKED'", 15, "missing operator between 'status' and 'BOOKED'"),
    ("(TRUE) (FALSE)", 8, "missing operator between ')' and '('"),
    ("entity.status IN ('A' 'B')", 23, "expected ',' or ')' after 'A'"),
    ("entity.status IN 'A'", 18, "expected '(' and a list of values"),
    ("entity.status IS 'A'", 18, "expected NULL or NOT NULL after IS"),
    ("entity.status IS NOT 'A'", 22, "expected NULL"),
    ("entity.status NOT 'A'", 19, "expected LIKE or IN after NOT"),
    ("entity. = 1", 9, "expected a field name after '.'"),
    ("entity.", 8, "expected a field name after '.'"),
    ("entity.items[", 14, "expected a 'key' in single ticks or a number after '['"),
    ("entity.items[entity.x]", 14, "expected a 'key'"),
    ("entity.items['a'", 17, "expected ']'"),
    ("1 < 2 < 3", 7, "comparisons cannot be chained"),
    ("AND TRUE", 1, "a condition cannot start with AND"),
    ("", 1, "empty condition"),
    ("   ", 1, "empty condition"),
    ("evnt.x > 5", 1, "unknown name 'evnt'; did you mean 'event'? names are event, entity, context, result, results"),
    ("entity.status = 'A' AND ordr.x = 1", 25, "unknown name 'ordr'"),
    ("entity.status = BOOKED", 17, "to compare with the text BOOKED, write 'BOOKED'"),
    ("Event.name = 'X'", 1, "did you mean 'event'?"),
    ("entity.x = " + "9" * 61, 12, "number too long"),
]


@pytest.mark.parametrize(("text", "column", "words"), ERRORS, ids=[case[0] or "<empty>" for case in ERRORS])
def test_syntax_errors(text: str, column: int, words: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        compile_condition(text)
    error = caught.value
    assert words in error.message
    assert (error.line, error.column) == (1, column)
    assert error.position == column - 1
    assert error.expression == text
    assert error.message.count("\n") == 0
    head, shown, caret = error.render().split("\n")
    assert head == f"condition syntax error at column {column}: {error.message}"
    assert shown == f"  {text}"
    assert caret == " " * (column + 1) + "^"


def test_render_names_the_source() -> None:
    text = "event.attributes.total > AND entity.status = 'BOOKED'"
    with pytest.raises(ConditionSyntaxError) as caught:
        compile_condition(text)
    assert caught.value.render("rulesets/order_hd.yaml ruleset 'CREATE'") == (
        "rulesets/order_hd.yaml ruleset 'CREATE': condition syntax error at column 26: expected a value after '>'\n"
        "  event.attributes.total > AND entity.status = 'BOOKED'\n"
        "                           ^"
    )
    assert str(caught.value) == caught.value.render()


def test_errors_in_multi_line_conditions_name_the_line() -> None:
    text = "entity.status = 'BOOKED'\n  AND\n\tevent.total > > 5"
    with pytest.raises(ConditionSyntaxError) as caught:
        compile_condition(text)
    error = caught.value
    assert (error.line, error.column) == (3, 16)
    assert error.position == text.index("> 5")
    assert error.render().split("\n") == [
        "condition syntax error at line 3, column 16: expected a value after '>'",
        "  \tevent.total > > 5",
        "  \t              ^",  # a tab stays a tab so the caret lines up in any editor
    ]


def test_a_syntax_error_is_a_value_error_and_pickles() -> None:
    with pytest.raises(ValueError, match="expected a value") as caught:
        compile_condition("entity.x = ")
    error = caught.value
    assert isinstance(error, ConditionSyntaxError)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ConditionSyntaxError)
    assert (copy.message, copy.expression, copy.position, copy.column) == (
        error.message,
        error.expression,
        error.position,
        error.column,
    )


def test_absurd_nesting_is_an_error_not_a_crash() -> None:
    deep = "(" * 400 + "TRUE" + ")" * 400
    with pytest.raises(ConditionSyntaxError, match="nested too deeply"):
        compile_condition(deep)
    long_sum = "entity.x = " + " + ".join(["entity.y"] * 300)
    with pytest.raises(ConditionSyntaxError, match="nested too deeply"):
        compile_condition(long_sum)


def test_moderate_nesting_compiles() -> None:
    assert compile_condition("(" * 40 + "TRUE" + ")" * 40).evaluate({}) is True
    many = " OR ".join(f"entity.status = 'S{i}'" for i in range(300))
    assert compile_condition(many).evaluate({"entity": {"status": "S299"}}) is True


def test_keywords_are_not_root_names() -> None:
    with pytest.raises(ConditionSyntaxError, match="expected a value after '='"):
        compile_condition("entity.status = in")
