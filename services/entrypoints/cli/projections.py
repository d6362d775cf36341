"""`touchline projections …`: the events projections parked, and retries after a fix."""

from __future__ import annotations

from typing import Annotated

import typer

from services.entrypoints.cli.common import console, opened

app = typer.Typer(help="Projections: the events they parked (could not apply) and retries after a fix.")


@app.command("failures")
def projections_failures(
    projection: Annotated[str | None, typer.Option(help="Only this projection's.")] = None,
    resolved: Annotated[bool, typer.Option("--resolved", help="Include the resolved ones.")] = False,
) -> None:
    """List (tab-separated) the events projections parked: projection, position, event type, event id, attempts,
    first failed, resolved, error. Exit 1 when an unresolved one is listed."""
    from projections.failures import failures

    with opened() as root:
        found, cursor, unresolved = [], None, 0
        while True:
            page, cursor = failures(root.views, projection=projection, resolved=resolved, cursor=cursor, limit=500)
            found += page
            if cursor is None:
                break
    for f in found:
        unresolved += f.resolved_at is None
        typer.echo(f"{f.projection}\t{f.position}\t{f.event_type}\t{f.event_id}\t{f.attempts}\t"
                   f"{f.first_failed_at}\t{f.resolved_at or '-'}\t{f.error_type}: {f.error_message}")
    raise typer.Exit(1 if unresolved else 0)


@app.command("retry")
def projections_retry(
    projection: Annotated[str | None, typer.Option(help="Only this projection's parked events.")] = None,
    position: Annotated[int | None, typer.Option(min=1, help="Only the parked event at this log position.")] = None,
    here: Annotated[bool, typer.Option("--here", help="Retry in this process now (no projector running) instead "
                                       "of asking the running projector to.")] = False,
) -> None:
    """Retry parked events after a fix: the projection is rebuilt from zero in place (by the running projector,
    or here with --here), which applies each of its parked events again; those that apply are resolved, the
    others stay parked. Exit 1 when nothing unresolved matches."""
    from projections.failures import request_retry
    from services.entrypoints.loops.pipeline import build_projection_engine

    with opened() as root:
        asked = request_retry(root.views, root.clock(), projection, position)
        if asked == 0:
            console.print("[red]no unresolved parked event matches[/red]")
            raise typer.Exit(1)
        if not here:
            console.print(f"asked the projector to retry {asked} parked event(s)")
            return
        done = build_projection_engine(root.settings, root.event_store, root.views).do_retries()
    for name, positions in sorted(done.items()):
        typer.echo(f"{name}\tresolved {len(positions)}\t{' '.join(map(str, sorted(positions)))}")
