"""Load every workflow file under a directory, all or nothing, with file:line:column errors."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from orchestrator.engine import CompiledWorkflow, WorkflowInvalid, compile_workflow
from orchestrator.model import WorkflowDefinition
from orchestrator.rules import RuleRegistry
from orchestrator.workflow.diagnostics import (
    Finding,
    compile_findings,
    duplicate_key,
    model_findings,
    not_a_workflow,
)
from orchestrator.workflow.errors import FileError, WorkflowLoadError, format_path
from orchestrator.workflow.json_source import parse_json
from orchestrator.workflow.registry import WorkflowKey, WorkflowRegistry, key_of
from orchestrator.workflow.source import Document, SyntaxProblem
from orchestrator.workflow.yaml_source import parse_yaml

__all__ = ["FileError", "WorkflowLoadError", "load_workflow_file", "load_workflows", "workflow_files"]

PARSERS: dict[str, Callable[[str], Document]] = {".json": parse_json, ".yaml": parse_yaml, ".yml": parse_yaml}


@dataclass(frozen=True, slots=True)
class _Loaded:
    file: str
    document: Document
    workflow: CompiledWorkflow


def load_workflows(directory: str | os.PathLike[str], rules: RuleRegistry) -> WorkflowRegistry:
    """Load every ``*.json``/``*.yaml``/``*.yml`` file under ``directory`` (recursively, hidden paths skipped),
    or a single such file. Raises ``WorkflowLoadError`` with every error of every file: nothing half-loads."""
    loaded: list[_Loaded] = []
    errors: list[FileError] = []
    for path in workflow_files(directory):
        result = _load(path, rules)
        if isinstance(result, _Loaded):
            loaded.append(result)
        else:
            errors.extend(result)
    errors.extend(_defined_twice(loaded))
    if errors:
        raise WorkflowLoadError(errors)
    return WorkflowRegistry((item.workflow, item.file) for item in loaded)


def load_workflow_file(path: str | os.PathLike[str], rules: RuleRegistry) -> CompiledWorkflow:
    """Load one workflow file, or raise ``WorkflowLoadError`` with all its errors."""
    result = _load(Path(path), rules)
    if isinstance(result, _Loaded):
        return result.workflow
    raise WorkflowLoadError(result)


def workflow_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The workflow files to load, sorted; refuses a missing directory or one without workflow files."""
    root = Path(directory)
    if root.is_file():
        if root.suffix.lower() not in PARSERS:
            _refuse(root, f"not a workflow file: the name must end in {', '.join(PARSERS)}")
        return [root]
    if not root.is_dir():
        _refuse(root, "no such directory; point to the workflow files (ORCH_RULESETS or the directory argument)")
    files = sorted(
        path for path in root.rglob("*")
        if path.suffix.lower() in PARSERS and path.is_file() and not _hidden(path.relative_to(root))
    )
    if not files:
        _refuse(root, "no workflow files (*.json, *.yaml, *.yml) in this directory; add one, or point to the "
                      "right directory")
    return files


def _refuse(path: Path, message: str) -> NoReturn:
    raise WorkflowLoadError([FileError(str(path), None, None, message)])


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _load(path: Path, rules: RuleRegistry) -> _Loaded | list[FileError]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return [FileError(file, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8")]
    except OSError as exc:
        return [FileError(file, None, None, f"cannot read: {exc.strerror or exc}")]
    try:
        document = PARSERS[path.suffix.lower()](text)
    except SyntaxProblem as problem:
        mark = problem.mark
        return [FileError(file, mark.line if mark else None, mark.column if mark else None, problem.message)]
    findings = _check(document, rules)
    if isinstance(findings, CompiledWorkflow):
        return _Loaded(file, document, findings)
    errors = [_at(file, document, finding) for finding in findings]
    return sorted(errors, key=lambda error: (error.line or 0, error.column or 0))


def _check(document: Document, rules: RuleRegistry) -> CompiledWorkflow | list[Finding]:
    """The compiled workflow, or the findings that stop it; duplicate keys are reported with either."""
    if not isinstance(document.data, dict):
        return [Finding((), not_a_workflow(document.data))]
    duplicates = [duplicate_key(path) for path in document.duplicate_keys]
    try:
        definition = WorkflowDefinition.model_validate(document.data)
    except ValidationError as exc:
        return [*duplicates, *model_findings(exc)]
    try:
        workflow = compile_workflow(definition, rules)
    except WorkflowInvalid as exc:
        return [*duplicates, *compile_findings(exc, document, rules)]
    return duplicates or workflow


def _at(file: str, document: Document, finding: Finding) -> FileError:
    mark = document.locate(finding.path, key=finding.at_key)
    where = format_path(finding.path)
    message = f"{where}: {finding.message}" if where else finding.message
    return FileError(file, mark.line, mark.column, message)


def _defined_twice(loaded: Iterable[_Loaded]) -> list[FileError]:
    first: dict[WorkflowKey, _Loaded] = {}
    errors: list[FileError] = []
    for item in loaded:
        key = key_of(item.workflow)
        earlier = first.setdefault(key, item)
        if earlier is item:
            continue
        line = earlier.document.locate(("version",)).line
        message = (
            f"workflow {key} is also defined in {earlier.file}:{line}; each (retailerId, entityType, "
            "entitySubtype, version) is loaded once: delete one file or give this one a new version"
        )
        errors.append(_at(item.file, item.document, Finding(("version",), message)))
    return errors
