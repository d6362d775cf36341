"""Schema migrations (Alembic) of touchline's two databases, run once by `touchline migrate`, serialised.

- `store` (scripts in `store/`, version table `touchline_store_version`): the event store's database. The
  eventsourcing library's own tables (`stored_events`, tracking) are created by the library, inside the same lock;
  the revisions hold touchline's tables next to them (audit chain and checkpoints, the privacy key vault).
- `views` (scripts in `views/`, version table `touchline_views_version`): the read-model database — projections,
  `projection_positions`, `projection_failures`, SLA webhook deliveries.

Both live in TOUCHLINE_DB_SCHEMA when set (created here if missing); when the two are one database, they share it
with two version tables. On Postgres a session-level advisory lock (per schema, taken in the event store's
database) serialises concurrent migrations: the first upgrades, the others then find the schema at head. On
SQLite a file lock next to the event store does. A database whose tables were created before migrations is
adopted by the initial revisions (they create only the tables missing).

Processes started outside production migrate at start (`prepare_schema`); in production they only check that
both databases are at head and stop with an error naming `touchline migrate` if not (run it as a Job first).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from projections.sqlstore import create_schema, make_engine
from services.adapters.databases import in_schema
from services.adapters.settings import Settings

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


class SchemaNotReady(RuntimeError):
    """A database is not at the head revision (run `touchline migrate`)."""


@dataclass(frozen=True, slots=True)
class Database:
    """One of the two databases: its scripts, version table, and URL (with the schema as search path)."""

    name: str
    url: str

    @property
    def version_table(self) -> str:
        return f"touchline_{self.name}_version"

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(HERE / self.name))
        config.attributes["connection"] = connection
        config.attributes["version_table"] = self.version_table
        return config

    def head(self) -> str | None:
        return ScriptDirectory.from_config(self.config()).get_current_head()

    def current(self, engine: Engine) -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table": self.version_table}
                                              ).get_current_revision()


def databases(settings: Settings) -> tuple[Database, Database]:
    """The event store's database and the read models', each with TOUCHLINE_DB_SCHEMA as search path."""
    return Database("store", in_schema(settings, settings.store_url)), Database("views", in_schema(
        settings, settings.views_url))


def migrate(settings: Settings) -> dict[str, str | None]:
    """Bring both databases to head (creating the schema and the event store's own tables first), one migration
    at a time across processes; return each database's revision."""
    store, views = databases(settings)
    with migration_lock(settings):
        _create_schema(settings)
        _create_event_store_tables(settings)
        for database in (store, views):
            engine = make_engine(database.url)
            try:
                with engine.begin() as conn:
                    command.upgrade(database.config(conn), "head")
            finally:
                engine.dispose()
    return {database.name: database.head() for database in (store, views)}


def check(settings: Settings) -> None:
    """Raise SchemaNotReady unless both databases are at head."""
    for database in databases(settings):
        engine = make_engine(database.url)
        try:
            current = database.current(engine)
        finally:
            engine.dispose()
        if current != database.head():
            raise SchemaNotReady(f"the {database.name} database is at revision {current or 'none'}, not "
                                 f"{database.head()}: run `touchline migrate` first (docs/operations.md)")


_PREPARED: set[tuple[str, str, str]] = set()
_PREPARED_LOCK = threading.Lock()


def prepare_schema(settings: Settings) -> None:
    """What a process does at start, once: migrate outside production (TOUCHLINE_MIGRATE_ON_START), else check."""
    key = (settings.store_url, settings.views_url, settings.db_schema)
    with _PREPARED_LOCK:
        if key in _PREPARED:
            return
        if settings.migrate_at_start:
            migrate(settings)
        else:
            check(settings)
        _PREPARED.add(key)


@contextlib.contextmanager
def migration_lock(settings: Settings) -> Iterator[None]:
    """Held while migrating: a Postgres advisory lock per schema, or a file lock next to a SQLite event store."""
    url = settings.store_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_name(f"{path.name}.migrate.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = make_engine(_without_schema_query(url), isolation_level="AUTOCOMMIT")
    key = f"touchline.migrate:{settings.db_schema or 'public'}"
    try:
        with engine.connect() as conn:
            conn.execute(text("select pg_advisory_lock(hashtext(:key))"), {"key": key})
            try:
                yield
            finally:
                conn.execute(text("select pg_advisory_unlock(hashtext(:key))"), {"key": key})
    finally:
        engine.dispose()


def run_in_alembic_context() -> None:
    """The body of both env.py: run the revisions on the handed-over connection, in its transaction."""
    from alembic import context

    config = context.config
    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise SchemaNotReady("run migrations through `touchline migrate` (services.adapters.migrations.migrate)")
    context.configure(connection=connection, version_table=config.attributes["version_table"],
                      transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


def _without_schema_query(url: str) -> str:
    """The URL without the event store's `?schema=` query (the lock connection needs no search path)."""
    parsed = make_url(url)
    return parsed.difference_update_query(["schema"]).render_as_string(hide_password=False)


def _create_schema(settings: Settings) -> None:
    if not settings.db_schema or settings.store_url.startswith("sqlite"):
        return
    for url in {settings.store_url, settings.views_url}:
        if url.startswith("sqlite"):
            continue
        create_schema(_without_schema_query(url), settings.db_schema)


def _create_event_store_tables(settings: Settings) -> None:
    """The eventsourcing library's tables, created by the library itself (inside the migration lock)."""
    from services.adapters.store.eventstore import EventStore

    if settings.store_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    EventStore(settings.store_url, schema=settings.db_schema or None).close()
