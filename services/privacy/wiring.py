"""Building the key vault, the event store's sealer and the erasure service from Settings."""

from __future__ import annotations

import base64

from projections.sqlstore import make_engine, url_with_search_path
from services.clock import Clock, utc_now
from services.privacy.erasure import AnchorsOf, ErasureService, single_anchor
from services.privacy.sealer import Sealer
from services.privacy.vault import KeyVault
from services.settings import Settings, development_privacy_kek
from services.store.eventstore import EventStore


def privacy_kek(settings: Settings) -> bytes:
    """TOUCHLINE_PRIVACY_KEK; outside production, when unset, the fixed development key (not a secret)."""
    configured = settings.privacy_kek.get_secret_value()
    if configured:
        return base64.b64decode(configured, validate=True)
    if settings.env == "production":
        raise RuntimeError("TOUCHLINE_PRIVACY_KEK is required in production")
    return development_privacy_kek()


def open_vault(settings: Settings) -> KeyVault:
    """A key vault on the event-store database (in TOUCHLINE_DB_SCHEMA when set), its tables created."""
    url = settings.store_url
    if settings.db_schema and not url.startswith("sqlite"):
        url = url_with_search_path(url, settings.db_schema)
    if url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    vault = KeyVault(make_engine(url), privacy_kek(settings))
    vault.create()
    return vault


def sealer_for(settings: Settings, clock: Clock = utc_now) -> Sealer:
    """The event store's sealer, with a vault of its own (closed with the store)."""
    return Sealer(open_vault(settings), clock)


def build_erasure_service(settings: Settings, store: EventStore, anchors_of: AnchorsOf = single_anchor,
                          clock: Clock = utc_now) -> ErasureService:
    """Erasures over `store`; `close()` the service's vault with `service.close()`."""
    return ErasureService(store, open_vault(settings), anchors_of, clock)
