"""Node positions in JSON and YAML files: what error lines are computed from."""

from __future__ import annotations

import pytest

from orchestrator.workflow.json_source import parse_json
from orchestrator.workflow.source import Mark, SyntaxProblem
from orchestrator.workflow.yaml_source import parse_yaml

TRICKY_JSON = """\
{
  "a\\"}{": "x,]}\\\\",
  "list": [1, -2.5e3, true, null,
           {"é": "ü\\u00e9"}],
  "empty": {}, "none": [],
  "deep": {"k": [[], [
     "v"]]}
}"""


def text_at(text: str, mark: Mark) -> str:
    """The text from ``mark`` to the end of its line."""
    return text.splitlines()[mark.line - 1][mark.column - 1 :]


def test_json_marks_follow_strings_escapes_and_nesting() -> None:
    doc = parse_json(TRICKY_JSON)
    assert doc.data['a"}{'] == "x,]}\\"
    assert doc.marks[()] == Mark(1, 1)
    assert doc.marks[('a"}{',)] == Mark(2, 12)
    assert text_at(TRICKY_JSON, doc.marks[('a"}{',)]) == '"x,]}\\\\",'
    assert doc.key_marks[('a"}{',)] == Mark(2, 3)
    assert text_at(TRICKY_JSON, doc.marks[("list", 1)]).startswith("-2.5e3,")
    assert text_at(TRICKY_JSON, doc.marks[("list", 3)]).startswith("null,")
    assert doc.marks[("list", 4)] == Mark(4, 12)
    assert doc.marks[("list", 4, "é")] == Mark(4, 18)
    assert text_at(TRICKY_JSON, doc.marks[("list", 4, "é")]).startswith('"ü')
    assert text_at(TRICKY_JSON, doc.marks[("none",)]) == "[],"
    assert doc.marks[("deep", "k", 1, 0)] == Mark(7, 6)
    assert doc.duplicate_keys == []


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc = parse_json(TRICKY_JSON)
    assert doc.locate(("deep", "k", 1, "missing", 3)) == Mark(6, 22)
    assert doc.locate(("nothing",)) == Mark(1, 1)
    assert doc.locate(("list",), key=True) == Mark(3, 3)


def test_json_on_one_line_and_with_crlf_line_ends() -> None:
    doc = parse_json('{"a": {"b": [10, 20]}}')
    assert doc.marks[("a", "b", 1)] == Mark(1, 18)
    crlf = parse_json('{\r\n  "a": 1,\r\n  "b": 2\r\n}')
    assert crlf.marks[("b",)] == Mark(3, 8)


def test_json_syntax_error_carries_the_decoder_position() -> None:
    with pytest.raises(SyntaxProblem) as caught:
        parse_json('{\n  "a": 1\n  "b": 2\n}')
    assert caught.value.mark == Mark(3, 3)
    assert caught.value.message.startswith("invalid JSON: Expecting ',' delimiter")


def test_yaml_marks_of_block_and_flow_nodes() -> None:
    doc = parse_yaml("a:\n  - x: 1\n    y: [2, {z: 3}]\nb: 'q'\n")
    assert doc.marks[("a", 0)] == Mark(2, 5)
    assert doc.marks[("a", 0, "y", 1, "z")] == Mark(3, 16)
    assert doc.key_marks[("b",)] == Mark(4, 1)
    assert doc.marks[("b",)] == Mark(4, 4)


def test_yaml_recursive_alias_does_not_loop() -> None:
    doc = parse_yaml("a: &x [1, *x]\n")
    assert doc.marks[("a",)] == Mark(1, 4)


def test_yaml_syntax_error_carries_the_problem_mark() -> None:
    with pytest.raises(SyntaxProblem) as caught:
        parse_yaml("a: 1\n b: 2\n")
    assert caught.value.mark == Mark(2, 3)
    assert "quote values" in caught.value.message
