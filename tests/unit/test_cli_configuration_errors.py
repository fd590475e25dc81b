"""A bad ORCH_* value stops every command with one line naming the variable, not a traceback."""

from __future__ import annotations

import sys

import pytest

from orchestrator.cli.main import main


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["orchestrator", *argv])
    with pytest.raises(SystemExit) as stopped:
        main()
    return int(stopped.value.code or 0)


@pytest.mark.parametrize("argv", [["worker"], ["dlq"], ["entity", "ORDER", "O-1", "--retailer", "1"]])
def test_a_value_below_its_minimum_is_refused_naming_the_variable_and_the_bound(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORCH_FETCH_MAX_BYTES", "12")
    assert run(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "ORCH_FETCH_MAX_BYTES='12': input should be greater than or equal to 1024" in err
    assert "Traceback" not in err


def test_every_bad_variable_is_named_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORCH_BATCH_SIZE", "lots")
    monkeypatch.setenv("ORCH_PARTITIONS", "0")
    assert run(["dlq"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "ORCH_BATCH_SIZE='lots'" in err and "ORCH_PARTITIONS='0'" in err
