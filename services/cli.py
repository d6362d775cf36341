"""The `touchline` command: run the processes, publish files of events, rebuild projections, export contracts."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.settings import Settings

app = typer.Typer(
    help="touchline: an event-sourced customer-interaction backbone. Settings come from the environment "
    "(DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, TOUCHLINE_*); see docs/operations.md.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
contracts_app = typer.Typer(help="Event contracts: JSON Schemas, the catalogue, published snapshots.")
app.add_typer(contracts_app, name="contracts")
console = Console(stderr=True)


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console)


@app.command()
def run(
    port: Annotated[int | None, typer.Option(help="HTTP port (default: PORT or 8000).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load demo events drawn from the seed stories.")] = False,
) -> None:
    """Run the whole backbone (recorder, projector, SLA ticker, API) in one process on the embedded default:
    SQLite store and read models under
    TOUCHLINE_DATA_DIR (.touchline), and a local Kafka-protocol broker started here unless
    KAFKA_BOOTSTRAP_SERVERS names one. Serves the API on http://127.0.0.1:PORT."""
    from services.embedded import run_embedded

    _logging()
    settings = Settings()
    run_embedded(settings if port is None else settings.model_copy(update={"port": port}), demo=demo)


@app.command()
def api() -> None:
    """Serve the HTTP API (ingest, queries, health) with uvicorn on TOUCHLINE_HOST:PORT."""
    import uvicorn

    from services.api.app import build_app
    from services.bootstrap import build_api_components

    _logging()
    settings = Settings()
    components = build_api_components(settings)
    try:
        uvicorn.run(build_app(components), host=settings.host, port=settings.port, log_level="info")
    finally:
        components.close()


@app.command()
def recorder() -> None:
    """Consume the events topic as the recorder consumer group and append to the event store."""
    from services.bootstrap import build_recorder_loop, ensure_kafka_topics, open_event_store

    _logging()
    settings = Settings()
    ensure_kafka_topics(settings)
    store = open_event_store(settings)
    with _until_interrupted() as stop:
        build_recorder_loop(settings, store).run(stop)
    store.close()


@app.command()
def projector() -> None:
    """Follow the event store's log and keep every projection up to date (one active instance)."""
    from services.bootstrap import build_projection_engine, open_event_store, open_views

    _logging()
    settings = Settings()
    store, views = open_event_store(settings), open_views(settings)
    with _until_interrupted() as stop:
        build_projection_engine(settings, store, views).run(stop, settings.projector_idle_seconds)
    store.close()


@app.command()
def ticker() -> None:
    """Run the SLA ticker (warnings and breaches within seconds), the alert dispatcher (alerts topic) and the
    webhook sender. Needs the projector running (it reads the SLA projection). Records the default policy
    version from TOUCHLINE_CONFIG_DIR if the log does not hold it yet."""
    from services.bootstrap import open_event_store, open_views, run_in_thread
    from services.sla.wiring import build_sla_services

    _logging()
    settings = Settings()
    store, views = open_event_store(settings), open_views(settings)
    sla = build_sla_services(settings, store, views)
    with _until_interrupted() as stop:
        threads = [run_in_thread(name, loop, stop) for name, loop in sla.loops(settings).items()]
        stop.wait()
        for thread in threads:
            thread.join(timeout=15)
    sla.close()
    store.close()


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines, one event per line.")],
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Events per broker round trip.")] = 500,
) -> None:
    """Validate and publish a file of events straight onto the events topic (KAFKA_BOOTSTRAP_SERVERS).
    Invalid lines are reported with their line number and field path and are not published."""
    from services.publisher import publish_jsonl

    settings = Settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS to the broker to publish to")
    with _progress() as progress:
        task = progress.add_task(f"publishing {file.name}", total=_count_lines(file))
        report = publish_jsonl(settings, file, batch, lambda n: progress.advance(task, n))
    for line, reason in report.rejected:
        console.print(f"[red]line {line}[/red]: {reason}")
    console.print(f"published {report.published}, rejected {len(report.rejected)}")
    raise typer.Exit(1 if report.rejected else 0)


@app.command()
def rebuild(
    name: Annotated[str, typer.Argument(help="Projection name (e.g. timeline), or 'all'.")],
) -> None:
    """Rebuild a projection from zero from the event store's log, with a progress bar."""
    from services.bootstrap import open_event_store, open_views, projection_stores
    from services.projector.engine import rebuild as rebuild_projection

    settings = Settings()
    store, views = open_event_store(settings), open_views(settings)
    stores = projection_stores(views)
    chosen = stores if name == "all" else {name: stores[name]} if name in stores else None
    if chosen is None:
        raise typer.BadParameter(f"unknown projection {name!r}; known: {', '.join(stores)}, all")
    head = store.head()
    with _progress() as progress:
        for projection in chosen.values():
            task = progress.add_task(f"rebuilding {projection.name}", total=head)
            count = rebuild_projection(store, projection, settings.projector_batch_size,
                                       lambda at, _head, t=task: progress.update(t, completed=at))
            progress.update(task, completed=head)
            console.print(f"{projection.name}: {count} events replayed, position {projection.position()}")
    store.close()


@contracts_app.command("export")
def contracts_export(directory: Path) -> None:
    """Write one JSON Schema per event type and version into DIRECTORY."""
    from contracts import export_schemas

    paths = export_schemas(directory)
    console.print(f"wrote {len(paths)} schemas to {directory}")


@contracts_app.command("catalogue")
def contracts_catalogue(file: Annotated[Path, typer.Argument()] = Path("docs/events.md")) -> None:
    """Regenerate the event catalogue (Markdown) from the contracts."""
    from contracts import render_catalogue

    file.write_text(render_catalogue(), encoding="utf-8")
    console.print(f"wrote {file}")


@contracts_app.command("publish")
def contracts_publish(
    directory: Annotated[Path, typer.Argument()] = Path("contracts/published"),
) -> None:
    """Snapshot schemas of event versions not yet published (published ones are never overwritten)."""
    from contracts import publish_snapshots

    paths = publish_snapshots(directory)
    console.print(f"published {len(paths)} new schema snapshot(s)")


def _count_lines(file: Path) -> int:
    with file.open("rb") as lines:
        return sum(1 for _ in lines)


@contextlib.contextmanager
def _until_interrupted() -> Iterator[threading.Event]:
    """A stop flag set by SIGTERM or SIGINT, so loops finish their batch and close cleanly."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
