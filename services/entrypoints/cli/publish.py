"""`touchline publish FILE.jsonl`: validate a file of events and publish it straight onto the events topic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.entrypoints.cli.common import console, count_lines, progress_bar, settings_from_env


def publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines, one event per line.")],
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Events per broker round trip.")] = 500,
) -> None:
    """Validate and publish a file of events straight onto the events topic (KAFKA_BOOTSTRAP_SERVERS).
    Invalid lines are reported with their line number and field path and are not published."""
    from services.application.publish import publish_jsonl

    settings = settings_from_env()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS to the broker to publish to")
    with progress_bar() as progress:
        task = progress.add_task(f"publishing {file.name}", total=count_lines(file))
        report = publish_jsonl(settings, file, batch, lambda n: progress.advance(task, n))
    for line, reason in report.rejected:
        console.print(f"[red]line {line}[/red]: {reason}")
    console.print(f"published {report.published}, rejected {len(report.rejected)}")
    raise typer.Exit(1 if report.rejected else 0)
