"""The `touchline` command: run the processes, publish files of events, rebuild projections, export contracts."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.markup import escape
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
audit_app = typer.Typer(help="Tamper-evident history: verify the log, inclusion and consistency proofs, customer "
                        "exports with proofs.")
app.add_typer(audit_app, name="audit")
privacy_app = typer.Typer(help="Personal data: erase a customer (their data keys destroyed; the audit chain still "
                          "verifies). See docs/audit.md, \"Erasure\".")
app.add_typer(privacy_app, name="privacy")
projections_app = typer.Typer(help="Projections: the events they parked (could not apply) and retries after a fix.")
app.add_typer(projections_app, name="projections")
console = Console(stderr=True)


def _settings() -> Settings:
    """Settings from the environment, with logging configured from them (services.logs)."""
    from services.logs import configure_logging

    settings = Settings()
    configure_logging(settings)
    return settings


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console)


@app.command()
def run(
    port: Annotated[int | None, typer.Option(help="HTTP port (default: PORT or 8000).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load demo events drawn from the seed stories.")] = False,
) -> None:
    """Run the whole backbone (recorder, projector, SLA ticker, audit chainer, API) in one process on the embedded
    default: SQLite store and read models under
    TOUCHLINE_DATA_DIR (.touchline), and a local Kafka-protocol broker started here unless
    KAFKA_BOOTSTRAP_SERVERS names one. Serves the API on http://127.0.0.1:PORT."""
    from services.embedded import run_embedded

    settings = _settings()
    status = run_embedded(settings if port is None else settings.model_copy(update={"port": port}), demo=demo)
    raise typer.Exit(status)


@app.command()
def api() -> None:
    """Serve the HTTP API (ingest, queries, health) with uvicorn on TOUCHLINE_HOST:PORT."""
    import uvicorn

    from services.api.app import build_app
    from services.bootstrap import build_api_components

    settings = _settings()
    components = build_api_components(settings)
    try:
        uvicorn.run(build_app(components), host=settings.host, port=settings.port, log_level="info", log_config=None)
    finally:
        components.close()


@app.command()
def recorder() -> None:
    """Consume the events topic as the recorder consumer group and append to the event store. Serves /metrics,
    /healthz and /readyz (ready once it has partitions) on TOUCHLINE_METRICS_PORT."""
    from services.bootstrap import build_recorder_loop, ensure_kafka_topics, open_event_store

    settings = _settings()
    ensure_kafka_topics(settings)
    store = open_event_store(settings)
    loop = build_recorder_loop(settings, store)
    status = _supervise(settings, {"recorder": loop.run}, ready={"recorder": lambda: loop.assigned})
    store.close()
    raise typer.Exit(status)


@app.command()
def projector() -> None:
    """Follow the event store's log and keep every projection up to date (one active instance). Serves /metrics,
    /healthz and /readyz on TOUCHLINE_METRICS_PORT."""
    from services.bootstrap import build_projection_engine, open_event_store, open_views
    from services.supervision import Liveness

    settings = _settings()
    store, views = open_event_store(settings), open_views(settings)
    engine = build_projection_engine(settings, store, views)

    def run_engine(stop: threading.Event, liveness: Liveness) -> None:
        engine.run(stop, settings.projector_idle_seconds, liveness)

    status = _supervise(settings, {"projector": run_engine})
    store.close()
    raise typer.Exit(status)


@app.command()
def ticker() -> None:
    """Run the SLA ticker (warnings and breaches within seconds), the alert dispatcher (alerts topic) and the
    webhook sender. Needs the projector running (it reads the SLA projection). Records the default policy
    version from TOUCHLINE_CONFIG_DIR if the log does not hold it yet. Serves /metrics, /healthz and /readyz on
    TOUCHLINE_METRICS_PORT."""
    from services.bootstrap import open_event_store, open_views
    from services.sla.wiring import build_sla_services

    settings = _settings()
    store, views = open_event_store(settings), open_views(settings)
    sla = build_sla_services(settings, store, views)
    status = _supervise(settings, sla.loops(settings))
    sla.close()
    store.close()
    raise typer.Exit(status)


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


JOBS_HELP = ("Processes to rebuild in, each reading the log itself and rebuilding its share of the projections "
             "(default: one per projection and CPU, one for logs under 20,000 events).")


@app.command()
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
    from services.audit.commands import rebuild_in_place, rebuild_into
    from services.audit.replay import ReplayError, ReplayFailed
    from services.bootstrap import open_event_store

    settings = Settings()
    store = open_event_store(settings)
    try:
        with _progress() as progress:
            task = progress.add_task(f"rebuilding {name}" + (f" into {into}" if into else " in place"),
                                     total=store.head())

            def advance(at: int, last: int) -> None:
                progress.update(task, completed=at, total=last)

            rebuilt = (rebuild_into(settings, store, name, into, schema, advance, jobs) if into is not None else
                       rebuild_in_place(settings, store, name, advance, jobs))
    except ReplayError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except ReplayFailed as exc:
        console.print(f"[red]rebuild failed[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    for result in rebuilt.values():
        typer.echo(f"{result.name}\tposition {result.position}\tevents {result.events}\tchecksum {result.checksum}")


@app.command()
def chainer() -> None:
    """Follow the event store's log: record each event's hash chain link, issue signed Merkle checkpoints every
    TOUCHLINE_AUDIT_CHECKPOINT_EVENTS events or _SECONDS seconds, publish them to TOUCHLINE_AUDIT_TOPIC
    (run one replica)."""
    from services.audit.wiring import build_chainer
    from services.bootstrap import ensure_kafka_topics, open_event_store

    settings = _settings()
    ensure_kafka_topics(settings)
    store = open_event_store(settings)
    process = build_chainer(settings, store)
    status = _supervise(settings, {"chainer": process.run})
    process.close()
    store.close()
    raise typer.Exit(status)


@audit_app.command("generate-key")
def audit_generate_key() -> None:
    """Print a new Ed25519 checkpoint signing key (TOUCHLINE_AUDIT_SIGNING_KEY) and its public half."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from domain.audit.checkpoint import key_id, raw_public_key
    from services.audit.keys import private_key_to_base64

    key = Ed25519PrivateKey.generate()
    typer.echo(f"TOUCHLINE_AUDIT_SIGNING_KEY={private_key_to_base64(key)}")
    console.print(f"public key {base64.b64encode(raw_public_key(key.public_key())).decode()} "
                  f"(key id {key_id(key.public_key())})")


@audit_app.command("verify")
def audit_verify(
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many events (default: all).")] = None,
) -> None:
    """Recompute every event's hash from the store and check it against the chain and the signed checkpoints.
    Exit 0 when intact; exit 1 naming the first bad log position and why."""
    from services.audit.wiring import build_audit_service
    from services.bootstrap import open_event_store

    settings = Settings()
    store = open_event_store(settings)
    service = build_audit_service(settings, store)
    try:
        verdict = service.verify(limit)
    finally:
        service.close()
        store.close()
    summary = (f"{verdict.checked} events checked up to position {verdict.last_position}, "
               f"{verdict.checkpoints_verified} signed checkpoints verified, {verdict.unchained} not yet chained"
               f"{'' if verdict.complete else ' (stopped at the limit)'}")
    if verdict.finding is not None:
        finding = verdict.finding
        console.print(f"[red]TAMPERED at position {finding.position}: {finding.reason}[/red] ({finding.detail})")
        console.print(summary)
        raise typer.Exit(1)
    console.print(f"intact: {summary}")


@audit_app.command("prove")
def audit_prove(
    event_id: Annotated[str, typer.Argument(help="The event's event_id.")],
    checkpoint: Annotated[int | None, typer.Option(min=1, help="Checkpoint seq (default: the latest).")] = None,
) -> None:
    """Print (JSON) the stored record of an event and the Merkle proof of its inclusion in a signed checkpoint."""
    from uuid import UUID

    _audit_json(lambda service: service.inclusion(UUID(event_id), checkpoint))


@audit_app.command("consistency")
def audit_consistency(from_seq: int, to_seq: int) -> None:
    """Print (JSON) the Merkle proof that checkpoint TO_SEQ's tree extends checkpoint FROM_SEQ's."""
    _audit_json(lambda service: service.consistency(from_seq, to_seq))


@audit_app.command("compare")
def audit_compare(
    into: Annotated[str | None, typer.Option(help="Where to rebuild (default: a temporary SQLite file).")] = None,
    schema: Annotated[str | None, typer.Option(help="Postgres schema for --into (created if missing).")] = None,
    jobs: Annotated[int | None, typer.Option(min=1, help=JOBS_HELP)] = None,
) -> None:
    """Rebuild every projection from zero into a fresh place and compare its checksum with the live read model
    caught up to the same log position. Exit 0 when all are equal; exit 1 naming those that differ."""
    from services.audit.commands import compare_live, differing_lines
    from services.audit.replay import ReplayError, ReplayFailed
    from services.bootstrap import open_event_store

    settings = Settings()
    store = open_event_store(settings)
    try:
        with _progress() as progress:
            task = progress.add_task("rebuilding to compare", total=store.head())
            comparison = compare_live(settings, store, into, schema,
                                      lambda at, last: progress.update(task, completed=at, total=last), jobs)
    except ReplayError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except ReplayFailed as exc:
        console.print(f"[red]rebuild failed[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    for name, line in differing_lines(comparison).items():
        typer.echo(f"{name}\t{line}")
    if comparison.differing:
        console.print(f"[red]differ: {', '.join(comparison.differing)}[/red]")
        raise typer.Exit(1)


@audit_app.command("as-of")
def audit_as_of(
    case: Annotated[str | None, typer.Option(help="Case id: the case and its SLA clocks.")] = None,
    customer: Annotated[str | None, typer.Option(help="Customer id: the customer's timeline.")] = None,
    position: Annotated[int | None, typer.Option(min=0, help="Fold events 1..POSITION.")] = None,
    at: Annotated[datetime | None, typer.Option(help="An instant with offset: what had been recorded by then.",
                                                formats=["%Y-%m-%dT%H:%M:%S%z"])] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Timeline entries.")] = 50,
) -> None:
    """Print (JSON) a customer's timeline, or a case and its SLA clocks, as they stood at a log position or an
    instant (replayed from the log; nothing is written)."""
    from projections.cases.sql import SqlCasesStore
    from services.api.audit_replay import as_of
    from services.audit.asof import AsOfError, AsOfReplayer
    from services.bootstrap import open_event_store, open_views
    from services.cases import build_case_views

    settings = Settings()
    store = open_event_store(settings)
    views = open_views(settings)  # calendars and targets only: the state comes from the log
    try:
        cases = build_case_views(SqlCasesStore(views), settings.handoff_target_hours, settings.config_dir)
        replayer = AsOfReplayer(store, _position_at(settings) if at is not None else None)
        answer = as_of(replayer, cases, customer_id=customer, case_id=case, position=position, at=at, limit=limit)
    except (AsOfError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        store.close()
        views.dispose()
    typer.echo(answer.model_dump_json(indent=2))


@audit_app.command("export")
def audit_export(
    customer_id: Annotated[str, typer.Argument(help="The customer's id (as in /v1/customers/{id}/timeline).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", dir_okay=False,
                                                help="Write to FILE (default: standard output).")] = None,
) -> None:
    """Write (JSON Lines) a customer's every event as stored, each with a Merkle proof of its inclusion in the latest
    signed checkpoint: a header with the checkpoint and public key, one line per event, a trailer with a digest of
    the file. Exit 1 when the customer is unknown or its newest events are not checkpointed yet (retry later)."""
    import sys

    from projections.customers.sql import SqlCustomerStore
    from projections.timeline.sql import SqlTimelineStore
    from services.audit.service import AuditError
    from services.audit.wiring import build_audit_service
    from services.bootstrap import customer_exporter, open_event_store, open_views, projection_stores

    settings = Settings()
    store, views = open_event_store(settings), open_views(settings)
    service = build_audit_service(settings, store)
    partial = output.with_name(f".{output.name}.partial") if output is not None else None
    try:
        stores = projection_stores(views)
        timeline, directory = stores["timeline"], stores["customers"]
        assert isinstance(timeline, SqlTimelineStore) and isinstance(directory, SqlCustomerStore)
        lines = customer_exporter(service, store, timeline, directory=directory).export(customer_id)
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(partial.open("wb")) if partial is not None else sys.stdout.buffer
            written = _write_all(lines, sink)
        if partial is not None and output is not None:
            partial.replace(output)  # a complete file or none: a failed export leaves no truncated FILE
    except AuditError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
        service.close()
        views.dispose()
        store.close()
    console.print(f"exported {written - 2} events of customer {customer_id}" + (f" to {output}" if output else ""))


@audit_app.command("verify-export")
def audit_verify_export(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A file written by `audit export`.")],
    public_key: Annotated[list[str] | None, typer.Option(
        help="A trusted Ed25519 public key, base64 of the raw 32 bytes, obtained out of band (repeatable). "
             "Default: this installation's trusted keys. Never the key the file carries.")] = None,
) -> None:
    """Check an export offline: the checkpoint's signature by a trusted key, every event's hashes and Merkle
    inclusion proof against the signed root, the line sequence and the trailer. Exit 0 when it verifies; exit 1
    naming the first bad line and why."""
    from domain.audit.checkpoint import public_key_from_base64, trusted_keys
    from domain.audit.export import verify_export

    if public_key:
        try:
            keys = trusted_keys(*(public_key_from_base64(text.strip()) for text in public_key))
        except ValueError as exc:
            raise typer.BadParameter(f"not a base64 Ed25519 public key: {exc}", param_hint="--public-key") from exc
    else:
        from services.audit.keys import verification_keys

        try:
            keys = verification_keys(Settings())
        except RuntimeError as exc:
            raise typer.BadParameter(f"{exc}; pass the trusted key instead", param_hint="--public-key") from exc
    with file.open("rb") as lines:
        verdict = verify_export(lines, keys)
    if verdict.finding is not None:
        finding = verdict.finding
        console.print(f"[red]BAD at line {finding.line}: {finding.reason}[/red] ({finding.detail})")
        raise typer.Exit(1)
    console.print(f"verified: {verdict.events} events of customer {verdict.customer_id}, proven in signed "
                  f"checkpoint {verdict.checkpoint}")


def _write_all(lines: Iterator[bytes], sink: BinaryIO) -> int:
    """Write every line; return how many."""
    count = 0
    for line in lines:
        sink.write(line)
        count += 1
    return count


def _position_at(settings: Settings) -> Callable[[datetime], int]:
    """The audit chain's recording-time index: instant → last log position recorded by then."""
    from services.audit.asof import chain_index
    from services.audit.tables import open_audit_engine

    return chain_index(open_audit_engine(settings))


def _audit_json(query: Any) -> None:
    import json

    from services.audit.service import AuditError
    from services.audit.wiring import build_audit_service
    from services.bootstrap import open_event_store

    settings = Settings()
    store = open_event_store(settings)
    service = build_audit_service(settings, store)
    try:
        typer.echo(json.dumps(query(service), indent=2))
    except AuditError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        service.close()
        store.close()


@privacy_app.command("generate-kek")
def privacy_generate_kek() -> None:
    """Print a new key-encryption key for TOUCHLINE_PRIVACY_KEK (base64 of 32 random bytes)."""
    import base64
    import os

    typer.echo(f"TOUCHLINE_PRIVACY_KEK={base64.b64encode(os.urandom(32)).decode()}")


@privacy_app.command("erase")
def privacy_erase(
    customer_id: Annotated[str, typer.Argument(help="The customer id, as in /v1/customers/{customer_id}.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. the request's ticket number. Recorded in the log: must not "
                                        "contain the customer's identifiers.")],
    by: Annotated[str, typer.Option(help="Who asked for it (recorded as the event's agent).")] = "cli",
) -> None:
    """Erase a customer's personal data (their data keys destroyed; the audit chain still verifies).

    Destroys the data keys of every identifier the customer covers and records a privacy.subject_erased event.
    Their personal values read as the pseudonym erased-<erasure id> from now on,
    in the store at once and in the read models once the projector has rebuilt them from zero after that event
    (with no projector running, run `touchline rebuild all`). Nothing stored changes: `audit verify` still passes.
    Exit 1 when no personal data is held for CUSTOMER_ID."""
    from pydantic import ValidationError

    from projections.customers.sql import SqlCustomerStore
    from services.bootstrap import erasure_service, open_event_store, open_views
    from services.privacy.erasure import NothingToErase, rebuild_note

    settings = Settings()
    store, views = open_event_store(settings), open_views(settings)
    directory = SqlCustomerStore(views)
    directory.create()
    service = erasure_service(settings, store, directory)
    try:
        done = service.erase(customer_id, reason, by)
    except NothingToErase as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except ValidationError as exc:  # nothing was erased
        raise typer.BadParameter("; ".join(str(error["msg"]) for error in exc.errors()),
                                 param_hint="--reason/--by") from exc
    finally:
        service.close()
        store.close()
        views.dispose()
    typer.echo(f"erasure {done.erasure_id}: {len(done.key_ids)} data key(s) destroyed, recorded at position "
               f"{done.position}; values now read as {done.pseudonym}")
    console.print(rebuild_note(done.position))


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


@app.command()
def migrate(
    check: Annotated[bool, typer.Option("--check", help="Only check that both databases are at head (exit 1 if "
                                        "not), changing nothing.")] = False,
) -> None:
    """Create or upgrade the schema of the event store's database and of the read models' (Alembic revisions,
    in TOUCHLINE_DB_SCHEMA when set). Safe to run concurrently: one runs, the others wait and find it done.
    Run it before starting the processes in production (they only check); elsewhere they run it themselves."""
    from services.migrations import SchemaNotReady
    from services.migrations import check as check_schema
    from services.migrations import migrate as run_migrations

    settings = _settings()
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


@projections_app.command("failures")
def projections_failures(
    projection: Annotated[str | None, typer.Option(help="Only this projection's.")] = None,
    resolved: Annotated[bool, typer.Option("--resolved", help="Include the resolved ones.")] = False,
) -> None:
    """List (tab-separated) the events projections parked: projection, position, event type, event id, attempts,
    first failed, resolved, error. Exit 1 when an unresolved one is listed."""
    from projections.failures import failures
    from services.bootstrap import open_views

    views = open_views(Settings())
    try:
        found, cursor, unresolved = [], None, 0
        while True:
            page, cursor = failures(views, projection=projection, resolved=resolved, cursor=cursor, limit=500)
            found += page
            if cursor is None:
                break
    finally:
        views.dispose()
    for f in found:
        unresolved += f.resolved_at is None
        typer.echo(f"{f.projection}\t{f.position}\t{f.event_type}\t{f.event_id}\t{f.attempts}\t"
                   f"{f.first_failed_at}\t{f.resolved_at or '-'}\t{f.error_type}: {f.error_message}")
    raise typer.Exit(1 if unresolved else 0)


@projections_app.command("retry")
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
    from services.bootstrap import build_projection_engine, open_event_store, open_views
    from services.clock import utc_now

    settings = Settings()
    views = open_views(settings)
    try:
        asked = request_retry(views, utc_now(), projection, position)
        if asked == 0:
            console.print("[red]no unresolved parked event matches[/red]")
            raise typer.Exit(1)
        if not here:
            console.print(f"asked the projector to retry {asked} parked event(s)")
            return
        store = open_event_store(settings)
        try:
            done = build_projection_engine(settings, store, views).do_retries()
        finally:
            store.close()
        for name, positions in sorted(done.items()):
            typer.echo(f"{name}\tresolved {len(positions)}\t{' '.join(map(str, sorted(positions)))}")
    finally:
        views.dispose()


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


def _supervise(settings: Settings, loops: dict[str, Any], ready: dict[str, Any] | None = None) -> int:
    """Run each `loop(stop, liveness)` in a thread with the probes served on TOUCHLINE_METRICS_PORT, until SIGTERM
    or SIGINT (exit status 0) or until a loop dies (the others are stopped; exit status 1)."""
    from services.bootstrap import run_in_thread
    from services.probes import ProbeServer
    from services.supervision import Backoff, Liveness

    liveness = Liveness(Backoff(settings.loop_backoff_seconds, settings.loop_backoff_max_seconds,
                                settings.loop_max_failures))
    for name in loops:
        liveness.register(name, (ready or {}).get(name))
    probes = ProbeServer(liveness, "0.0.0.0", settings.metrics_port).start() if settings.metrics_port else None
    try:
        with _until_interrupted() as stop:
            threads = [run_in_thread(name, loop, stop, liveness) for name, loop in loops.items()]
            while not stop.is_set() and not liveness.died.is_set():
                stop.wait(0.5)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    finally:
        if probes is not None:
            probes.close()
    if dead := liveness.dead():
        logging.getLogger(__name__).error("stopped because a loop died: %s", dead)
        return 1
    return 0


def main() -> None:
    app()


if __name__ == "__main__":
    main()
