"""The one way a process opens a database from Settings (the low-level factory is projections.sqlstore)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from projections.protocol import ProjectionStore
from projections.registry import StoreOptions, sql_stores
from projections.sqlstore import create_schema, make_engine, url_with_search_path
from services.adapters.config import IdentityConfig, load_identity_config
from services.adapters.settings import Settings


def in_schema(settings: Settings, url: str) -> str:
    """`url` with TOUCHLINE_DB_SCHEMA as its search path (Postgres; SQLite has no schemas)."""
    if settings.db_schema and not url.startswith("sqlite"):
        return url_with_search_path(url, settings.db_schema)
    return url


def open_engine(settings: Settings, url: str, **kwargs: Any) -> Engine:
    """An engine on `url` in TOUCHLINE_DB_SCHEMA, the data folder created for a SQLite file."""
    if url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(in_schema(settings, url), **kwargs)


def open_views(settings: Settings) -> Engine:
    """The read models' database (TOUCHLINE_VIEWS_DATABASE_URL)."""
    return open_engine(settings, settings.views_url)


def open_store_database(settings: Settings) -> Engine:
    """The event store's database (DATABASE_URL), where the audit and key-vault tables live too."""
    return open_engine(settings, settings.store_url)


def open_rebuild_target(url: str, schema: str | None = None) -> Engine:
    """An engine on a fresh place for rebuilt read models: a SQLite file (written without fsync: a failed rebuild
    is simply run again) or a Postgres database with `schema` (or `?schema=` in the URL), created if missing;
    ValueError for a schema name that is not plain."""
    parsed = make_url(url)
    schema = schema or parsed.query.get("schema")  # type: ignore[assignment]
    if parsed.get_backend_name() == "sqlite":
        engine = make_engine(url)
        event.listen(engine, "connect", _unsynchronised)
        return engine
    plain = parsed.difference_update_query(["schema"]).render_as_string(hide_password=False)
    if not schema:
        return make_engine(plain)
    with_path = url_with_search_path(plain, schema)
    create_schema(plain, schema)
    return make_engine(with_path)


def _unsynchronised(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def projection_stores(views: Engine, identity: IdentityConfig | None = None,
                      names: Iterable[str] | None = None) -> dict[str, ProjectionStore]:
    """Every registered projection (projections.registry), or those `names`, by name, tables created (retrying:
    processes starting together race to create them)."""
    options = StoreOptions(shared_threshold=(identity or load_identity_config()).shared_threshold)
    stores: dict[str, ProjectionStore] = dict(sql_stores(views, options, names))
    for store in stores.values():
        for attempt in range(1, 6):
            try:
                store.create()
                break
            except DBAPIError:
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)
    return stores
