"""What every `touchline` command shares: the stderr console, the composition root opened once per command."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.adapters.settings import Settings
from services.entrypoints.bootstrap import Root

console = Console(stderr=True)

JOBS_HELP = ("Processes to rebuild in, each reading the log itself and rebuilding its share of the projections "
             "(default: one per projection and CPU, one for logs under 20,000 events).")


def settings_from_env(*, configure_logs: bool = False) -> Settings:
    """Settings from the environment; a long-running process also configures logging from them (services.adapters.logs:
    it replaces the root logger's handlers, so the short commands leave them alone)."""
    settings = Settings()
    if configure_logs:
        from services.adapters.logs import configure_logging

        configure_logging(settings)
    return settings


@contextlib.contextmanager
def opened(settings: Settings | None = None, *, configure_logs: bool = False) -> Iterator[Root]:
    """The command's composition root (one per command), closed when the command ends."""
    root = Root(settings or settings_from_env(configure_logs=configure_logs))
    try:
        yield root
    finally:
        root.close()


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console)


def count_lines(file: Path) -> int:
    with file.open("rb") as lines:
        return sum(1 for _ in lines)


def fail(message: str) -> typer.Exit:
    """Print `message` in red (markup escaped) and return the exit-1 to raise."""
    console.print(f"[red]{escape(message)}[/red]", highlight=False)
    return typer.Exit(1)
