"""The privacy keys from Settings: the key-encryption key, the key vault, the event store's sealer, the protector."""

from __future__ import annotations

import base64

from domain.identity.identifiers import IdentifierProtector
from services.adapters.clock import Clock, utc_now
from services.adapters.databases import open_store_database
from services.adapters.privacy.sealer import Sealer
from services.adapters.privacy.vault import KeyVault
from services.adapters.settings import Settings, development_privacy_kek


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
    vault = KeyVault(open_store_database(settings), privacy_kek(settings))
    vault.create()
    return vault


def sealer_for(settings: Settings, clock: Clock = utc_now) -> Sealer:
    """The event store's sealer, with a vault of its own (closed with the store)."""
    return Sealer(open_vault(settings), clock)


def protector_for(settings: Settings) -> IdentifierProtector:
    """The keyed digest of national IDs (TOUCHLINE_ID_HASH_KEY)."""
    return IdentifierProtector(settings.id_hash_key.get_secret_value().encode())
