"""`touchline contracts …`: JSON Schemas, the event catalogue, published snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.entrypoints.cli.common import console

app = typer.Typer(help="Event contracts: JSON Schemas, the catalogue, published snapshots.")


@app.command("export")
def contracts_export(directory: Path) -> None:
    """Write one JSON Schema per event type and version into DIRECTORY."""
    from contracts import export_schemas

    paths = export_schemas(directory)
    console.print(f"wrote {len(paths)} schemas to {directory}")


@app.command("catalogue")
def contracts_catalogue(file: Annotated[Path, typer.Argument()] = Path("docs/events.md")) -> None:
    """Regenerate the event catalogue (Markdown) from the contracts."""
    from contracts import render_catalogue

    file.write_text(render_catalogue(), encoding="utf-8")
    console.print(f"wrote {file}")


@app.command("publish")
def contracts_publish(
    directory: Annotated[Path, typer.Argument()] = Path("contracts/published"),
) -> None:
    """Snapshot schemas of event versions not yet published (published ones are never overwritten)."""
    from contracts import publish_snapshots

    paths = publish_snapshots(directory)
    console.print(f"published {len(paths)} new schema snapshot(s)")
