"""Opening the event store from Settings: its schema prepared, personal values sealed per customer key."""

from __future__ import annotations

from services.adapters.migrations import prepare_schema
from services.adapters.privacy.keys import sealer_for
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore


def open_event_store(settings: Settings) -> EventStore:
    """The event store, sealing personal values per customer key (docs/audit.md, "Erasure"); the schema migrated
    (outside production) or checked at head, once per process (services.adapters.migrations)."""
    if settings.store_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    prepare_schema(settings)
    return EventStore(settings.store_url, schema=settings.db_schema or None, sealer=sealer_for(settings),
                      create_tables=False)
