"""Code rules inside workflows: compiled at load (syntax and policy errors are load errors with the place),
run per event in the sandbox; an escape attempt fails the event, is audited, and leaves the entity as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.engine import decide
from orchestrator.model import Category, Entity, Event, Outcome
from orchestrator.workflow import WorkflowLoadError, load_workflows
from orchestrator.workflow.plugins import discover_rules

NOW = datetime(2026, 11, 21, tzinfo=UTC)
TEMPLATE = """\
retailerId: "1"
entityType: ORDER
entitySubtype: CODE
version: "1"
statuses: [{name: CREATED}, {name: BOOKED}]
rulesets:
  - name: CREATE
    type: ORDER
    triggers: [{status: CREATED}]
    rules:
      - name: Code
        props:
          code: |
%s
"""


def workflow_with(tmp_path: Path, code: str) -> Path:
    body = "\n".join("            " + line for line in code.splitlines())
    (tmp_path / "w.yaml").write_text(TEMPLATE % body)
    return tmp_path


def run(tmp_path: Path, code: str, **attributes: object) -> tuple[Outcome, Entity | None, str]:
    wf = load_workflows(workflow_with(tmp_path, code), discover_rules()).lookup("1", "ORDER", "CODE")
    assert wf is not None
    event = Event(id="e", name="CREATE", retailer_id="1", entity_type="ORDER", entity_subtype="CODE",
                  entity_ref="O-1", attributes=attributes)
    d = decide(event, None, wf, NOW)
    return d.outcome, d.after, d.audit[-1].message


def test_code_computes_with_decimal_and_returns_actions_and_a_result(tmp_path: Path) -> None:
    code = ("total = sum(Decimal(str(l['price'])) * l['qty'] for l in event['attributes']['lines'])\n"
            "return {'result': {'total': str(total)}, 'actions': [set_attributes(total=str(total)),"
            " set_status('BOOKED')]}")
    outcome, after, _ = run(tmp_path, code, lines=[{"price": 1.10, "qty": 3}, {"price": 0.25, "qty": 2}])
    assert outcome is Outcome.SUCCESS and after is not None
    assert (after.status, after.attributes) == ("BOOKED", {"total": "3.80"})


@pytest.mark.parametrize(("code", "fragment"), [
    ("import os\nreturn 1", "import"),
    ("return event.__class__", "__class__"),
    ("return open('/etc/passwd').read()", "open"),
    ("return (", "invalid Python"),
])
def test_unsafe_or_broken_code_is_refused_at_load_with_the_line(tmp_path: Path, code: str, fragment: str) -> None:
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflows(workflow_with(tmp_path, code), discover_rules())
    [error] = caught.value.errors
    assert error.line == 13 and "props.code" in error.message and fragment in error.message


@pytest.mark.parametrize(("code", "fragment"), [
    ("while True:\n    pass", "CodeTimeout"),
    ("return '{0.__class__}'.format(1)", "CodeSecurityError"),
    ("event['attributes']['x'] = 1\nreturn 1", "CodeSecurityError"),
    ("return 'x' * 10**10", "CodeLimitError"),
    ("return 1 / 0", "ZeroDivisionError"),
])
def test_escape_attempts_fail_the_event_audited_and_change_nothing(tmp_path: Path, code: str, fragment: str) -> None:
    outcome, after, message = run(tmp_path, code)
    assert outcome is Outcome.FAILED and after is None
    assert fragment in message


def test_a_failed_code_rule_is_an_exception_record(tmp_path: Path) -> None:
    wf = load_workflows(workflow_with(tmp_path, "return 1 / 0"), discover_rules()).lookup("1", "ORDER", "CODE")
    assert wf is not None
    d = decide(Event(id="e", name="CREATE", retailer_id="1", entity_type="ORDER", entity_subtype="CODE",
                     entity_ref="O-1"), None, wf, NOW)
    assert d.audit[-1].category is Category.EXCEPTION and d.audit[-1].data["rule"] == "Code"
