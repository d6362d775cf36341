"""`touchline privacy …`: erase a customer's personal data; make a key-encryption key."""

from __future__ import annotations

from typing import Annotated

import typer

from services.entrypoints.cli.common import console, opened

app = typer.Typer(help="Personal data: erase a customer (their data keys destroyed; the audit chain still "
                  "verifies). See docs/audit.md, \"Erasure\".")


@app.command("generate-kek")
def privacy_generate_kek() -> None:
    """Print a new key-encryption key for TOUCHLINE_PRIVACY_KEK (base64 of 32 random bytes)."""
    import base64
    import os

    typer.echo(f"TOUCHLINE_PRIVACY_KEK={base64.b64encode(os.urandom(32)).decode()}")


@app.command("erase")
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
    from services.application.erasure import NothingToErase, erasure_service, rebuild_note

    with opened() as root:
        directory = SqlCustomerStore(root.views)
        directory.create()
        service = erasure_service(root.settings, root.event_store, directory)
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
    typer.echo(f"erasure {done.erasure_id}: {len(done.key_ids)} data key(s) destroyed, recorded at position "
               f"{done.position}; values now read as {done.pseudonym}")
    console.print(rebuild_note(done.position))
