"""`touchline rebuild NAME|all`: rebuild projections from zero, in place or into a fresh database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from services.entrypoints.cli.common import JOBS_HELP, console, opened, progress_bar


def rebuild(
    name: Annotated[str, typer.Argument(help="Projection name (e.g. timeline), or 'all'.")],
    into: Annotated[str | None, typer.Option(help="Rebuild into this fresh database instead, e.g. "
                                             "sqlite:///tmp/rebuilt.db or postgresql://...?schema=rebuilt; "
                                             "the live read models stay untouched.")] = None,
    schema: Annotated[str | None, typer.Option(help="Postgres schema for --into (created if missing).")] = None,
    jobs: Annotated[int | None, typer.Option(min=1, help=JOBS_HELP)] = None,
) -> None:
    """Rebuild a projection (or all) from zero from the event store's log, up to the log head as it is when
    started, with a progress bar: in place (stop the projector first), or with --into into a fresh place. Prints
    each projection's position, events replayed and checksum. Never runs the ticker, alerts or webhooks."""
    from services.application.rebuild import rebuild_in_place, rebuild_into
    from services.application.replay import ReplayError, ReplayFailed

    with opened() as root:
        settings, store = root.settings, root.event_store
        try:
            with progress_bar() as progress:
                task = progress.add_task(f"rebuilding {name}" + (f" into {into}" if into else " in place"),
                                         total=store.head())

                def advance(at: int, last: int) -> None:
                    progress.update(task, completed=at, total=last)

                rebuilt = (rebuild_into(settings, store, name, into, schema, advance, jobs) if into is not None
                           else rebuild_in_place(settings, store, name, advance, jobs))
        except ReplayError as exc:
            raise typer.BadParameter(str(exc)) from exc
        except ReplayFailed as exc:
            console.print(f"[red]rebuild failed[/red]: {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from exc
    for result in rebuilt.values():
        typer.echo(f"{result.name}\tposition {result.position}\tevents {result.events}\tchecksum {result.checksum}")
