"""The `touchline` command: run the processes, publish files of events, rebuild projections, audit, export
contracts. One module per sub-app; each command opens one composition root (services.entrypoints.bootstrap)."""

from __future__ import annotations

import typer

from services.entrypoints.cli import audit, contracts, privacy, processes, projections, publish, rebuild

app = typer.Typer(
    help="touchline: an event-sourced customer-interaction backbone. Settings come from the environment "
    "(DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, TOUCHLINE_*); see docs/operations.md.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for command in (processes.run, processes.api, processes.recorder, processes.projector, processes.ticker,
                publish.publish, rebuild.rebuild, processes.chainer, processes.migrate):
    app.command()(command)
app.add_typer(contracts.app, name="contracts")
app.add_typer(audit.app, name="audit")
app.add_typer(privacy.app, name="privacy")
app.add_typer(projections.app, name="projections")


def main() -> None:
    app()
