"""`orchestrator rules`: the rules available to workflows (core, library and installed plugins)."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestrator.cli.render import emit_json
from orchestrator.rules import core_registry
from orchestrator.workflow.plugins import discover_rules
from orchestrator.workflow.reference import markdown, rule_rows


def rules(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable list."),
    as_markdown: bool = typer.Option(False, "--markdown", help="The reference page, as Markdown."),
    write: Path | None = typer.Option(None, "--write", help="Write the Markdown reference to this file."),
    core_only: bool = typer.Option(False, "--core-only", help="Only the built-in library (as docs/rules.md)."),
) -> None:
    """List the rules workflows can use (built-in and installed plugins), with their props."""
    registry = core_registry() if core_only or write is not None else discover_rules()
    if write is not None:
        write.write_text(markdown(registry))
        typer.echo(f"wrote {write}")
        return
    if as_markdown:
        typer.echo(markdown(registry), nl=False)
        return
    rows = rule_rows(registry)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        props = ", ".join(p["name"] + ("" if p["required"] else "?") for p in row["props"]) or "no props"
        typer.echo(f"{row['name']:<18} {props}\n{'':<18} {row['summary']}")
