"""`touchline audit …`: verify the log, proofs, rebuild-and-compare, as-of, customer exports with proofs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.markup import escape

from services.entrypoints.bootstrap import Root
from services.entrypoints.cli.common import JOBS_HELP, console, opened, progress_bar, settings_from_env

app = typer.Typer(help="Tamper-evident history: verify the log, inclusion and consistency proofs, customer "
                  "exports with proofs.")


@app.command("generate-key")
def audit_generate_key() -> None:
    """Print a new Ed25519 checkpoint signing key (TOUCHLINE_AUDIT_SIGNING_KEY) and its public half."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from domain.audit.checkpoint import key_id, raw_public_key
    from services.adapters.audit.keys import private_key_to_base64

    key = Ed25519PrivateKey.generate()
    typer.echo(f"TOUCHLINE_AUDIT_SIGNING_KEY={private_key_to_base64(key)}")
    console.print(f"public key {base64.b64encode(raw_public_key(key.public_key())).decode()} "
                  f"(key id {key_id(key.public_key())})")


@app.command("verify")
def audit_verify(
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many events (default: all).")] = None,
) -> None:
    """Recompute every event's hash from the store and check it against the chain and the signed checkpoints.
    Exit 0 when intact; exit 1 naming the first bad log position and why."""
    with opened() as root:
        verdict = root.audit.verify(limit)
    summary = (f"{verdict.checked} events checked up to position {verdict.last_position}, "
               f"{verdict.checkpoints_verified} signed checkpoints verified, {verdict.unchained} not yet chained"
               f"{'' if verdict.complete else ' (stopped at the limit)'}")
    if verdict.finding is not None:
        finding = verdict.finding
        console.print(f"[red]TAMPERED at position {finding.position}: {finding.reason}[/red] ({finding.detail})")
        console.print(summary)
        raise typer.Exit(1)
    console.print(f"intact: {summary}")


@app.command("prove")
def audit_prove(
    event_id: Annotated[str, typer.Argument(help="The event's event_id.")],
    checkpoint: Annotated[int | None, typer.Option(min=1, help="Checkpoint seq (default: the latest).")] = None,
) -> None:
    """Print (JSON) the stored record of an event and the Merkle proof of its inclusion in a signed checkpoint."""
    from uuid import UUID

    _audit_json(lambda root: root.audit.inclusion(UUID(event_id), checkpoint))


@app.command("consistency")
def audit_consistency(from_seq: int, to_seq: int) -> None:
    """Print (JSON) the Merkle proof that checkpoint TO_SEQ's tree extends checkpoint FROM_SEQ's."""
    _audit_json(lambda root: root.audit.consistency(from_seq, to_seq))


@app.command("compare")
def audit_compare(
    into: Annotated[str | None, typer.Option(help="Where to rebuild (default: a temporary SQLite file).")] = None,
    schema: Annotated[str | None, typer.Option(help="Postgres schema for --into (created if missing).")] = None,
    jobs: Annotated[int | None, typer.Option(min=1, help=JOBS_HELP)] = None,
) -> None:
    """Rebuild every projection from zero into a fresh place and compare its checksum with the live read model
    caught up to the same log position. Exit 0 when all are equal; exit 1 naming those that differ."""
    from services.application.rebuild import compare_live, differing_lines
    from services.application.replay import ReplayError, ReplayFailed

    with opened() as root:
        store = root.event_store
        try:
            with progress_bar() as progress:
                task = progress.add_task("rebuilding to compare", total=store.head())
                comparison = compare_live(root.settings, store, into, schema,
                                          lambda at, last: progress.update(task, completed=at, total=last), jobs)
        except ReplayError as exc:
            raise typer.BadParameter(str(exc)) from exc
        except ReplayFailed as exc:
            console.print(f"[red]rebuild failed[/red]: {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from exc
    for name, line in differing_lines(comparison).items():
        typer.echo(f"{name}\t{line}")
    if comparison.differing:
        console.print(f"[red]differ: {', '.join(comparison.differing)}[/red]")
        raise typer.Exit(1)


@app.command("as-of")
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
    from services.application.asof import AsOfError, AsOfReplayer
    from services.application.cases import build_case_views
    from services.entrypoints.api.audit_replay import as_of

    with opened() as root:
        settings = root.settings
        try:
            # calendars and targets only from the read models: the state comes from the log
            cases = build_case_views(SqlCasesStore(root.views), settings.handoff_target_hours, settings.config_dir)
            replayer = AsOfReplayer(root.event_store, root.position_at if at is not None else None)
            answer = as_of(replayer, cases, customer_id=customer, case_id=case, position=position, at=at,
                           limit=limit)
        except (AsOfError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    typer.echo(answer.model_dump_json(indent=2))


@app.command("export")
def audit_export(
    customer_id: Annotated[str, typer.Argument(help="The customer's id (as in /v1/customers/{id}/timeline).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", dir_okay=False,
                                                help="Write to FILE (default: standard output).")] = None,
) -> None:
    """Write (JSON Lines) a customer's every event as stored, each with a Merkle proof of its inclusion in the latest
    signed checkpoint: a header with the checkpoint and public key, one line per event, a trailer with a digest of
    the file. Exit 1 when the customer is unknown or its newest events are not checkpointed yet (retry later)."""
    import sys

    from services.application.audit.service import AuditError

    partial = output.with_name(f".{output.name}.partial") if output is not None else None
    with opened() as root:
        try:
            lines = root.exporter.export(customer_id)
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
    console.print(f"exported {written - 2} events of customer {customer_id}" + (f" to {output}" if output else ""))


@app.command("verify-export")
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
        from services.adapters.audit.keys import verification_keys

        try:
            keys = verification_keys(settings_from_env())
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


def _audit_json(query: Callable[[Root], Any]) -> None:
    import json

    from services.application.audit.service import AuditError

    with opened() as root:
        try:
            typer.echo(json.dumps(query(root), indent=2))
        except AuditError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
