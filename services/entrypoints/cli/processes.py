"""`touchline run | api | recorder | projector | ticker | chainer | migrate`: the processes, and their schema."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.markup import escape

from services.adapters.supervision import Liveness
from services.entrypoints.cli.common import console, opened, settings_from_env


def run(
    port: Annotated[int | None, typer.Option(help="HTTP port (default: PORT or 8000).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load demo events drawn from the seed stories.")] = False,
) -> None:
    """Run the whole backbone (recorder, projector, SLA ticker, audit chainer, API) in one process on the embedded
    default: SQLite store and read models under
    TOUCHLINE_DATA_DIR (.touchline), and a local Kafka-protocol broker started here unless
    KAFKA_BOOTSTRAP_SERVERS names one. Serves the API on http://127.0.0.1:PORT."""
    from services.entrypoints.loops.embedded import run_embedded

    settings = settings_from_env(configure_logs=True)
    status = run_embedded(settings if port is None else settings.model_copy(update={"port": port}), demo=demo)
    raise typer.Exit(status)


def api() -> None:
    """Serve the HTTP API (ingest, queries, health) with uvicorn on TOUCHLINE_HOST:PORT."""
    import uvicorn

    from services.entrypoints.app import build_app

    with opened(configure_logs=True) as root:
        app = build_app(root.open_api())
        uvicorn.run(app, host=root.settings.host, port=root.settings.port, log_level="info", log_config=None)


def recorder() -> None:
    """Consume the events topic as the recorder consumer group and append to the event store. Serves /metrics,
    /healthz and /readyz (ready once it has partitions) on TOUCHLINE_METRICS_PORT."""
    from services.adapters.kafka.backend import ensure_kafka_topics
    from services.entrypoints.loops.pipeline import build_recorder_loop, supervise

    with opened(configure_logs=True) as root:
        ensure_kafka_topics(root.settings)
        loop = build_recorder_loop(root.settings, root.event_store)
        status = supervise(root.settings, {"recorder": loop.run}, ready={"recorder": lambda: loop.assigned})
    raise typer.Exit(status)


def projector() -> None:
    """Follow the event store's log and keep every projection up to date, or those named in TOUCHLINE_PROJECTIONS
    (one active instance per projection: processes with disjoint lists share the work). Serves /metrics, /healthz
    and /readyz on TOUCHLINE_METRICS_PORT."""
    from services.entrypoints.loops.pipeline import build_projection_engine, supervise

    with opened(configure_logs=True) as root:
        settings = root.settings
        engine = build_projection_engine(settings, root.event_store, root.views)

        def run_engine(stop: threading.Event, liveness: Liveness) -> None:
            engine.run(stop, settings.projector_idle_seconds, liveness)

        status = supervise(settings, {"projector": run_engine})
    raise typer.Exit(status)


def ticker() -> None:
    """Run the SLA ticker (warnings and breaches within seconds), the alert dispatcher (alerts topic) and the
    webhook sender. Needs the projector running (it reads the SLA projection). Records the default policy
    version from TOUCHLINE_CONFIG_DIR if the log does not hold it yet. Serves /metrics, /healthz and /readyz on
    TOUCHLINE_METRICS_PORT."""
    from services.entrypoints.loops.pipeline import supervise
    from services.entrypoints.loops.sla import build_sla_services

    with opened(configure_logs=True) as root:
        sla = build_sla_services(root.settings, root.event_store, root.views)
        try:
            status = supervise(root.settings, sla.loops(root.settings))
        finally:
            sla.close()
    raise typer.Exit(status)


def chainer() -> None:
    """Follow the event store's log: record each event's hash chain link, issue signed Merkle checkpoints every
    TOUCHLINE_AUDIT_CHECKPOINT_EVENTS events or _SECONDS seconds, publish them to TOUCHLINE_AUDIT_TOPIC
    (run one replica)."""
    from services.adapters.kafka.backend import ensure_kafka_topics
    from services.entrypoints.loops.chainer import build_chainer
    from services.entrypoints.loops.pipeline import supervise

    with opened(configure_logs=True) as root:
        ensure_kafka_topics(root.settings)
        process = build_chainer(root.settings, root.event_store)
        try:
            status = supervise(root.settings, {"chainer": process.run})
        finally:
            process.close()
    raise typer.Exit(status)


def migrate(
    check: Annotated[bool, typer.Option("--check", help="Only check that both databases are at head (exit 1 if "
                                        "not), changing nothing.")] = False,
) -> None:
    """Create or upgrade the schema of the event store's database and of the read models' (Alembic revisions,
    in TOUCHLINE_DB_SCHEMA when set). Safe to run concurrently: one runs, the others wait and find it done.
    Run it before starting the processes in production (they only check); elsewhere they run it themselves."""
    from services.adapters.migrations import SchemaNotReady
    from services.adapters.migrations import check as check_schema
    from services.adapters.migrations import migrate as run_migrations

    settings = settings_from_env(configure_logs=True)
    if check:
        try:
            check_schema(settings)
        except SchemaNotReady as exc:
            console.print(f"[red]{escape(str(exc))}[/red]", highlight=False)
            raise typer.Exit(1) from exc
        console.print("both databases are at head")
        return
    for name, revision in run_migrations(settings).items():
        typer.echo(f"{name}\t{revision}")
