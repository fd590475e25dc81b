"""`orchestrator worker|validate|schemas`: run a worker, check workflow files, keep schemas in step."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from orchestrator.app.logging import configure_logging
from orchestrator.app.settings import Settings
from orchestrator.cli.render import emit_json
from orchestrator.model.schemas import json_schemas
from orchestrator.workflow.loader import WorkflowLoadError, load_workflows
from orchestrator.workflow.plugins import discover_rules
from orchestrator.workflow.registry import WorkflowRegistry


def load_or_exit(directory: Path) -> WorkflowRegistry:
    """Load every workflow file, or print each error (file:line: what and how to fix) and exit 2."""
    try:
        return load_workflows(directory, discover_rules())
    except WorkflowLoadError as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"refused: {len(exc.errors)} error(s) in workflow files under {directory}; nothing was loaded",
                   err=True)
        raise typer.Exit(2) from None


def worker() -> None:
    """Run a worker (joins the consumer group; start several to scale out)."""
    from orchestrator.app.worker import run_worker

    settings = Settings()
    configure_logging(settings.log_level)
    run_worker(settings, load_or_exit(settings.rulesets))


def validate(
    directory: Path | None = typer.Argument(None, help="Directory of workflow files (default: ORCH_RULESETS)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """Load and check workflow files; exit non-zero with file:line errors when any is bad."""
    target = directory or Settings().rulesets
    try:
        registry = load_workflows(target, discover_rules())
    except WorkflowLoadError as exc:
        if as_json:
            emit_json({"ok": False, "errors": [e.as_dict() for e in exc.errors]})
        else:
            for error in exc.errors:
                typer.echo(str(error), err=True)
            typer.echo(f"{len(exc.errors)} error(s); nothing loaded", err=True)
        raise typer.Exit(1) from None
    rows = registry.describe_rows()
    if as_json:
        emit_json({"ok": True, "workflows": rows})
        return
    typer.echo(f"OK: {len(rows)} workflow(s) in {target}")
    for row in rows:
        typer.echo(f"  {row['retailerId']}/{row['entityType']}/{row['entitySubtype']} v{row['version']}"
                   f"  {row['name']}: {row['rulesets']} rulesets")


def schemas(
    directory: Path = typer.Option(Path("schemas"), help="Where the schema files live."),
    write: bool = typer.Option(False, "--write", help="Write the files instead of checking them."),
) -> None:
    """Check (default) or write the JSON Schemas generated from the models."""
    drift = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.schema.json"
        text = orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        if write:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)
        elif not path.exists() or path.read_bytes() != text:
            drift.append(str(path))
    if drift:
        typer.echo(f"out of date: {', '.join(drift)}; run `make schemas`", err=True)
        raise typer.Exit(1)
    typer.echo("schemas written" if write else "schemas up to date")
