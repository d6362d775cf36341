"""Schema migrations: concurrent migrations and process start-ups on a fresh schema all succeed and leave it
complete (they used to race: `CREATE TABLE privacy_keys` failed with UniqueViolation), the revisions match the
stores' tables, databases created before migrations are adopted, and production processes only check."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import sql
from sqlalchemy import MetaData, inspect
from typer.testing import CliRunner

import projections.registry  # noqa: F401 - every projection's tables join the read models' metadata
from projections.sqlstore import make_engine
from projections.sqlstore import metadata as views_metadata
from services.adapters.audit.tables import metadata as audit_metadata
from services.adapters.audit.tables import open_audit_engine
from services.adapters.databases import open_views, projection_stores
from services.adapters.migrations import SchemaNotReady, check, databases, migrate, prepare_schema
from services.adapters.opening import open_event_store
from services.adapters.privacy.vault import metadata as vault_metadata
from services.adapters.settings import Settings
from services.adapters.webhooks.deliveries import metadata as deliveries_metadata
from services.application.erasure import build_erasure_service
from services.entrypoints.cli import app

pytestmark = pytest.mark.integration
LIBRARY_TABLES = {"stored_events", "notification_tracking"}  # the eventsourcing library's, created by it
VERSION_TABLES = {"touchline_store_version", "touchline_views_version"}
NOT_IN_REVISIONS = LIBRARY_TABLES | VERSION_TABLES | {"tracking"}  # (the library's tracking table on SQLite)


def merged(*parts: MetaData) -> MetaData:
    found = MetaData()
    for part in parts:
        for table in part.tables.values():
            table.to_metadata(found)
    return found


STORE_TABLES = merged(audit_metadata, vault_metadata)
VIEWS_TABLES = merged(views_metadata, deliveries_metadata)
EVERY_TABLE = set(STORE_TABLES.tables) | set(VIEWS_TABLES.tables) | LIBRARY_TABLES | VERSION_TABLES


@pytest.fixture
def fresh_schema(postgres_url: str) -> Iterator[str]:
    """A schema name nobody has created yet (migrations create it), dropped afterwards."""
    name = f"m_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))


def postgres_settings(url: str, schema: str, **extra: Any) -> Settings:
    return Settings(database_url=url, db_schema=schema, env="test", **extra)


def tables_in(url: str, schema: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select table_name from information_schema.tables where table_schema = %s", [schema])
        return {row[0] for row in rows}


def together(count: int, work: Callable[[], object]) -> list[BaseException]:
    """Run `work` in `count` threads released at once; the exceptions they raised."""
    start, errors = threading.Barrier(count), []

    def run() -> None:
        start.wait()
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - collected and asserted on
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_eight_concurrent_migrations_of_a_fresh_schema_all_succeed(postgres_url: str, fresh_schema: str) -> None:
    settings = postgres_settings(postgres_url, fresh_schema)

    errors = together(8, lambda: migrate(settings))

    assert errors == []
    assert tables_in(postgres_url, fresh_schema) == EVERY_TABLE
    check(settings)


def test_eight_processes_starting_together_on_a_fresh_schema_all_start(postgres_url: str, fresh_schema: str) -> None:
    """What the recorder, projector, API, chainer and ticker do at start: open the event store (migrating, as
    outside production), the read models, the audit tables and the vault, at the same instant. Without the
    migration lock 7 of 8 failed with UniqueViolation on each try."""
    settings = postgres_settings(postgres_url, fresh_schema)

    def start_up() -> None:
        store = open_event_store(Settings(**settings.model_dump()))  # a process of its own: nothing cached
        views = open_views(settings)
        try:
            projection_stores(views)
            open_audit_engine(settings).dispose()
            build_erasure_service(settings, store, lambda customer_id: [customer_id]).close()
        finally:
            store.close()
            views.dispose()

    assert together(8, start_up) == []
    assert tables_in(postgres_url, fresh_schema) == EVERY_TABLE


def functions_in(url: str, schema: str) -> dict[str, int]:
    """Each function of `schema` by name, with the transaction that last wrote its catalogue row."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("select p.proname, p.xmin::text from pg_proc p join pg_namespace n on n.oid = "
                            "p.pronamespace where n.nspname = %s", [schema])
        return {name: int(xmin) for name, xmin in rows}


def test_opening_a_migrated_event_store_changes_no_schema_object(postgres_url: str, fresh_schema: str) -> None:
    """Processes open the store without the library's table creation: its `CREATE OR REPLACE FUNCTION`, run by
    processes starting together, failed with "tuple concurrently updated". Only `touchline migrate` creates."""
    settings = postgres_settings(postgres_url, fresh_schema)
    prepare_schema(settings)  # the process's migration at start, done once
    before = functions_in(postgres_url, fresh_schema)

    open_event_store(settings).close()

    assert before  # the library's insert function, created by the migration
    assert functions_in(postgres_url, fresh_schema) == before


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path, env="test", database_url="", views_database_url="")
    return postgres_settings(request.getfixturevalue("postgres_url"), request.getfixturevalue("fresh_schema"))


def test_the_revisions_create_exactly_the_stores_tables(settings: Settings) -> None:
    migrate(settings)
    store, views = databases(settings)
    expected = {store.url: STORE_TABLES, views.url: VIEWS_TABLES}
    if store.url == views.url:  # one Postgres database (and schema) for both
        expected = {store.url: merged(STORE_TABLES, VIEWS_TABLES)}
    for url, tables in expected.items():
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _: kind != "table" or name not in NOT_IN_REVISIONS})
                assert compare_metadata(context, tables) == [], url
        finally:
            engine.dispose()


def test_a_database_created_before_migrations_is_adopted(settings: Settings) -> None:
    store, views = databases(settings)
    if settings.db_schema:
        with psycopg.connect(settings.store_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create schema {}").format(sql.Identifier(settings.db_schema)))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(views.url)
    views_metadata.create_all(engine, tables=[views_metadata.tables["projection_positions"]])  # as create() did
    engine.dispose()

    assert migrate(settings) == {"store": "store_0001", "views": "views_0005"}

    engine = make_engine(views.url)
    assert set(VIEWS_TABLES.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
    check(settings)


def test_a_process_that_does_not_migrate_refuses_an_unmigrated_schema(settings: Settings) -> None:
    checking = Settings(**(settings.model_dump() | {"migrate_on_start": False}))
    if settings.db_schema:
        with psycopg.connect(settings.store_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create schema {}").format(sql.Identifier(settings.db_schema)))
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    with pytest.raises(SchemaNotReady, match="run `touchline migrate` first"):
        prepare_schema(checking)

    migrate(settings)
    prepare_schema(checking)


def test_touchline_migrate_upgrades_then_finds_nothing_to_do(settings: Settings) -> None:
    runner = CliRunner()
    env = {"TOUCHLINE_DATA_DIR": str(settings.data_dir), "TOUCHLINE_ENV": "test",
           "DATABASE_URL": settings.database_url, "TOUCHLINE_VIEWS_DATABASE_URL": "",
           "TOUCHLINE_DB_SCHEMA": settings.db_schema}

    before = runner.invoke(app, ["migrate", "--check"], env=env)
    assert before.exit_code == 1 and "at revision none" in before.stderr and "touchline migrate" in before.stderr
    for _ in range(2):
        done = runner.invoke(app, ["migrate"], env=env)
        assert done.exit_code == 0, done.output
        assert done.stdout == "store\tstore_0001\nviews\tviews_0005\n"
    after = runner.invoke(app, ["migrate", "--check"], env=env)
    assert after.exit_code == 0 and "at head" in after.stderr
