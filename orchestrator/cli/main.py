"""The `orchestrator` command."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from orchestrator.cli import dlq_cmd, event_cmds, inspect_cmds, rules_cmd, stack_cmds

app = typer.Typer(
    name="orchestrator",
    help="Event-driven order orchestration: workflows matched on entity status, state and audit in Redis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def dev() -> None:
    """Start the embedded stack (Tansu broker + Redis, unless ORCH_* name servers that answer) and a worker."""
    from orchestrator.app.launcher import run_dev
    from orchestrator.app.logging import configure_logging
    from orchestrator.app.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level)
    run_dev(settings, stack_cmds.load_or_exit(settings.rulesets))


app.command()(stack_cmds.worker)
app.command()(event_cmds.send)
app.command()(inspect_cmds.entity)
app.command()(inspect_cmds.audit)
app.command()(event_cmds.tail)
app.command()(dlq_cmd.dlq)
app.command()(stack_cmds.validate)
app.command()(stack_cmds.schemas)
app.command()(rules_cmd.rules)


def main() -> None:
    try:
        app()
    except ValidationError as exc:
        if exc.title != "Settings":  # only a bad ORCH_* value; other validation errors are reported where raised
            raise
        from orchestrator.app.settings import explain_invalid

        typer.echo(f"error: {explain_invalid(exc)}", err=True)
        raise SystemExit(2) from None
