"""Loading workflow files: the examples, Fluent's JSON as exported, and every kind of broken file."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.engine import decide
from orchestrator.model import Event, Outcome
from orchestrator.rules import core_registry
from orchestrator.workflow import FileError, WorkflowLoadError, load_workflow_file, load_workflows
from orchestrator.workflow.loader import workflow_files

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
FIXTURES = ROOT / "tests" / "fixtures" / "workflows"
BAD = FIXTURES / "bad"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

MINIMAL_YAML = """\
retailerId: "7"
version: "1.0"
entityType: ORDER
entitySubtype: HD
statuses: [{name: CREATED}, {name: BOOKED}]
rulesets:
  - name: CREATE
    type: ORDER
    triggers: [{status: CREATED}]
    rules: [{name: SetState, props: {status: BOOKED}}]
"""


def load_errors(directory: Path) -> list[FileError]:
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflows(directory, core_registry())
    return caught.value.errors


def copy_into(directory: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(BAD / name, directory / name)
    return directory


def line_text(error: FileError) -> str:
    assert error.line is not None
    return Path(error.file).read_text().splitlines()[error.line - 1]


# --- files that load ---------------------------------------------------------------------------------------


def test_the_example_workflows_load() -> None:
    registry = load_workflows(RULESETS, core_registry())
    order = registry.lookup("1", "ORDER", "HD")
    fulfilment = registry.lookup("1", "FULFILMENT", "HD")
    assert order is not None and fulfilment is not None
    assert order.name == "ORDER::HD" and order.version == "1.0"
    assert [rs.definition.name for rs in order.rulesets] == [
        "CREATE", "CREATE", "FraudCheckPassed", "FraudCheckFailed", "BookOrder", "BookOrder",
        "FulfilmentPicking", "FulfilmentPacked", "FulfilmentAwaitingCourier", "FulfilmentShipped",
        "FulfilmentReadyForCollection", "FulfilmentDelivered", "AllFulfilmentsDone", "CompleteOrder", "CancelOrder",
    ]
    assert {s.category for s in order.definition.statuses} == {"BOOKING", "FULFILMENT", "DELIVERY", "DONE"}
    assert len(registry) == len(workflow_files(RULESETS))
    assert registry.source(order) == str(RULESETS / "order_hd.yaml")


def test_a_fluent_export_loads_and_books_an_order_on_create() -> None:
    registry = load_workflows(FIXTURES / "fluent", core_registry())
    workflow = registry.lookup("2", "ORDER", "CC")
    assert workflow is not None and workflow.name == "ORDER::CC"
    assert workflow.rulesets[0].rules[0].spec.name == "FLUENTRETAIL.base.SetState"
    create = Event(id="c1", name="CREATE", retailer_id="2", entity_type="ORDER", entity_subtype="CC",
                   entity_ref="CC-1")
    decision = decide(create, None, workflow, NOW)
    assert decision.outcome is Outcome.SUCCESS
    assert decision.after is not None and decision.after.status == "BOOKED"


def test_a_fluent_export_runs_its_inline_event() -> None:
    workflow = load_workflow_file(FIXTURES / "fluent" / "order_cc.json", core_registry())
    ref = {"retailer_id": "2", "entity_type": "ORDER", "entity_subtype": "CC", "entity_ref": "CC-1"}
    entity = decide(Event(id="c1", name="CREATE", **ref), None, workflow, NOW).after
    entity = decide(Event(id="c2", name="ReadyForCollection", **ref), entity, workflow, NOW).after
    decision = decide(Event(id="c3", name="CustomerCollected", **ref), entity, workflow, NOW)
    assert decision.after is not None and decision.after.status == "COMPLETE"
    assert decision.rulesets_run == 2


def test_a_single_file_can_be_loaded_by_its_path() -> None:
    registry = load_workflows(RULESETS / "order_hd.yaml", core_registry())
    assert [w.name for w in registry] == ["ORDER::HD"]


def test_hidden_directories_and_other_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "order.yaml").write_text(MINIMAL_YAML)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "broken.json").write_text("{")
    (tmp_path / "README.md").write_text("# not a workflow")
    assert len(load_workflows(tmp_path, core_registry())) == 1


def test_workflows_in_subdirectories_are_found(tmp_path: Path) -> None:
    (tmp_path / "retailer7" / "orders").mkdir(parents=True)
    (tmp_path / "retailer7" / "orders" / "order.yml").write_text(MINIMAL_YAML)
    assert load_workflows(tmp_path, core_registry()).lookup("7", "ORDER", "HD") is not None


# --- broken files: each error names the file, the line and column of the offending node, and the fix -------


@pytest.mark.parametrize(
    ("name", "line", "column", "message", "token"),
    [
        ("json_syntax.json", 10, 7, "invalid JSON: Expecting ',' delimiter; a comma is missing", '"rules"'),
        ("yaml_syntax.yaml", 16, 40, 'invalid YAML: expected <block end>, but found \'<scalar>\'', "-F1"),
        ("unknown_rule.yaml", 13, 15,
         "rulesets[0].rules[1].name: unknown rule 'SetStat'; did you mean SetState?", "acme.core.SetStat"),
        ("bad_props.yaml", 13, 11,
         "rulesets[0].rules[0].props.stauts: SetState props: stauts: unknown prop; SetState takes: status; "
         "did you mean 'status'?", "stauts"),
        ("duplicate_ruleset.yaml", 18, 11,
         "rulesets[2].name: duplicate ruleset 'CREATE' for ORDER in status CREATED: rulesets[0] already handles "
         "it; merge them, change the triggers or give one a condition", "CREATE"),
        ("missing_retailer.json", 1, 1,
         "not a workflow: required field 'retailerId' is missing; add it at the top level", "{"),
    ],
)
def test_a_broken_file_reports_file_line_column_and_fix(
    tmp_path: Path, name: str, line: int, column: int, message: str, token: str
) -> None:
    errors = load_errors(copy_into(tmp_path, name))
    [error] = [e for e in errors if message in e.message]
    assert Path(error.file) == tmp_path / name
    assert (error.line, error.column) == (line, column)
    assert token in line_text(error)
    assert str(error).startswith(f"{tmp_path / name}:{line}:{column}: ")


def test_undeclared_statuses_point_at_the_trigger_and_the_set_state_prop(tmp_path: Path) -> None:
    errors = load_errors(copy_into(tmp_path, "undeclared_status.json"))
    assert [(e.line, e.column, e.message) for e in errors] == [
        (20, 23, "rulesets[1].rules[0].props.status: status 'SHIPPD' is not declared for ORDER; "
                 "add it to the workflow's statuses"),
        (24, 31, "rulesets[1].triggers[0].status: status 'BOOKD' is not declared for ORDER; "
                 "add it to the workflow's statuses"),
    ]
    assert line_text(errors[0]).strip() == '"status": "SHIPPD"'
    assert line_text(errors[0])[22:30] == '"SHIPPD"'
    assert line_text(errors[1])[30:37] == '"BOOKD"'


def test_props_that_do_not_validate_report_every_problem(tmp_path: Path) -> None:
    errors = load_errors(copy_into(tmp_path, "bad_props.yaml"))
    assert [e.message for e in errors] == [
        "rulesets[0].rules[0].props.status: SetState props: status: required prop is missing; add it",
        "rulesets[0].rules[0].props.stauts: SetState props: stauts: unknown prop; SetState takes: status; "
        "did you mean 'status'?",
    ]


def test_the_same_workflow_in_two_files_names_both(tmp_path: Path) -> None:
    errors = load_errors(copy_into(tmp_path, "same_workflow_a.yaml", "same_workflow_b.json"))
    [error] = errors
    assert Path(error.file) == tmp_path / "same_workflow_b.json"
    assert (error.line, error.column) == (5, 14)
    assert f"workflow 9/ORDER/TWICE v2.0 is also defined in {tmp_path / 'same_workflow_a.yaml'}:2" in error.message
    assert "delete one file or give this one a new version" in error.message


def test_every_error_of_every_file_is_reported_at_once() -> None:
    errors = load_errors(BAD)
    by_file: dict[str, int] = {}
    for error in errors:
        by_file[Path(error.file).name] = by_file.get(Path(error.file).name, 0) + 1
    assert by_file == {
        "bad_props.yaml": 2, "duplicate_ruleset.yaml": 1, "json_syntax.json": 1, "missing_retailer.json": 1,
        "undeclared_status.json": 2, "unknown_rule.yaml": 1, "yaml_syntax.yaml": 1, "same_workflow_b.json": 1,
    }


def test_one_bad_file_among_good_ones_loads_nothing(tmp_path: Path) -> None:
    for example in RULESETS.glob("*.yaml"):
        shutil.copy(example, tmp_path / example.name)
    copy_into(tmp_path, "unknown_rule.yaml")
    errors = load_errors(tmp_path)
    assert [Path(e.file).name for e in errors] == ["unknown_rule.yaml"]


def test_the_load_error_lists_every_error_in_its_text(tmp_path: Path) -> None:
    copy_into(tmp_path, "bad_props.yaml", "json_syntax.json")
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflows(tmp_path, core_registry())
    text = str(caught.value)
    assert text.startswith("3 error(s) in workflow files; nothing was loaded\n")
    assert f"{tmp_path / 'json_syntax.json'}:10:7: invalid JSON" in text


# --- smaller mistakes, written inline ------------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    (directory / name).write_text(text)
    return directory


def test_an_unquoted_yaml_version_says_to_quote_it(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.yaml", MINIMAL_YAML.replace('version: "1.0"', "version: 1.0")))
    assert (error.line, error.column) == (2, 10)
    assert error.message == 'version: expected text, got number 1.0; quote it (in YAML: version: "1.0")'


def test_a_key_written_twice_is_refused(tmp_path: Path) -> None:
    text = MINIMAL_YAML.replace("entitySubtype: HD\n", "entitySubtype: HD\nentitySubtype: CC\n")
    [error] = load_errors(write(tmp_path, "w.yaml", text))
    assert (error.line, error.column) == (5, 1)
    assert error.message.startswith("entitySubtype: key 'entitySubtype' is written twice in this object")


def test_a_json_key_written_twice_points_at_the_second_key(tmp_path: Path) -> None:
    text = '{"retailerId": "1",\n "version": "1.0", "entityType": "ORDER", "entitySubtype": "HD",\n  "version": "2"}'
    [error] = load_errors(write(tmp_path, "w.json", text))
    assert (error.line, error.column) == (3, 3)
    assert "key 'version' is written twice" in error.message


def test_yaml_merge_keys_may_override_without_being_duplicates(tmp_path: Path) -> None:
    text = MINIMAL_YAML.replace(
        "  - name: CREATE\n    type: ORDER\n",
        "  - &base {name: CREATE, type: ORDER}\n  - <<: *base\n    name: Other\n    type: ORDER\n",
    )
    registry = load_workflows(write(tmp_path, "w.yaml", text), core_registry())
    workflow = registry.lookup("7", "ORDER", "HD")
    assert workflow is not None and [rs.definition.name for rs in workflow.rulesets] == ["CREATE", "Other"]


def test_a_list_is_not_a_workflow(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.yaml", "- retailerId: 1\n"))
    assert (error.line, error.column) == (1, 1)
    assert error.message.startswith("not a workflow: found a list; a workflow file holds one object with retailerId")


def test_an_empty_file_is_not_a_workflow(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.yaml", "# nothing yet\n"))
    assert error.message.startswith("not a workflow: found an empty file")


def test_two_yaml_documents_in_one_file_are_refused(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.yaml", MINIMAL_YAML + "---\n" + MINIMAL_YAML))
    assert error.line == 11
    assert "a workflow file holds one workflow" in error.message


def test_a_missing_ruleset_field_points_at_the_ruleset(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.yaml", MINIMAL_YAML.replace("    type: ORDER\n", "")))
    assert (error.line, error.column) == (7, 5)
    assert error.message == "rulesets[0].type: required field 'type' is missing; add it"


def test_an_unknown_rule_without_a_close_name_lists_the_known_ones(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.yaml", MINIMAL_YAML.replace("name: SetState", "name: acme.Refund")))
    expected = "rulesets[0].rules[0].name: unknown rule 'Refund'; known rules: Code, CreateChild, Fail, "
    assert error.message.startswith(expected)
    assert "'orchestrator.rules' entry point" in error.message


def test_json_syntax_errors_say_how_to_fix_a_trailing_comma(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.json", '{\n  "retailerId": "1",\n}\n'))
    assert (error.line, error.column) == (3, 1)
    assert "remove the trailing comma" in error.message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "w.json").write_bytes(b'{"name": "\xff"}')
    [error] = load_errors(tmp_path)
    assert error.line is None and "not UTF-8 text" in error.message and "save it as UTF-8" in error.message
    assert str(error) == f"{tmp_path / 'w.json'}: {error.message}"


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    [error] = load_errors(tmp_path / "nowhere")
    assert error.message.startswith("no such directory")


def test_a_directory_without_workflows_is_refused(tmp_path: Path) -> None:
    [error] = load_errors(tmp_path)
    assert error.message.startswith("no workflow files (*.json, *.yaml, *.yml) in this directory")


def test_errors_serialise_for_json_output(tmp_path: Path) -> None:
    [error] = load_errors(write(tmp_path, "w.yaml", MINIMAL_YAML.replace("status: BOOKED", "status: BOOKD")))
    assert error.as_dict() == {
        "file": str(tmp_path / "w.yaml"), "line": 10, "column": 46,
        "message": "rulesets[0].rules[0].props.status: status 'BOOKD' is not declared for ORDER; "
                   "add it to the workflow's statuses",
    }
    assert line_text(error)[45:50] == "BOOKD"


def test_a_single_file_must_be_a_workflow_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    [error] = load_errors(notes)
    assert error.message == "not a workflow file: the name must end in .json, .yaml, .yml"
