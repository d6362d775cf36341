"""The event store's sealer: personal values sealed per customer key on append, opened on read.

Per batch, one vault lookup (from the vault's cache where it can, with one count of destroyed keys: see vault.py):
`seal` fetches (creating if missing) the keys of every anchor the batch needs; `open` loads the keys its sealed
values name, so a key erased since the previous batch reads as its pseudonym from the next batch on. Rows holding
no sealed value take the fast path (pydantic straight from the bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from contracts import Envelope
from domain.privacy.fields import subject_of
from domain.privacy.sealing import MARK, SealedValue, open_document, seal_document, sealed_values
from services.adapters.clock import Clock, utc_now
from services.adapters.privacy.vault import KeyVault
from services.adapters.store.eventstore import StoredLogEntry, decode, model_for


class Sealer:
    """Implements the event store's `Sealing` protocol over a key vault."""

    def __init__(self, vault: KeyVault, clock: Clock = utc_now) -> None:
        self._vault = vault
        self._clock = clock

    def close(self) -> None:
        self._vault.close()

    def seal(self, events: Sequence[Envelope]) -> list[bytes]:
        documents = [event.model_dump(mode="json", exclude_none=True) for event in events]
        subjects = [subject_of(document, event.customer) for document, event in zip(documents, events, strict=True)]
        anchors = {subject for subject in subjects if subject is not None}
        keys = self._vault.keys_for(anchors, self._clock()) if anchors else {}
        sealed = (document if subject is None else seal_document(document, keys[subject])
                  for document, subject in zip(documents, subjects, strict=True))
        return [orjson.dumps(document, option=orjson.OPT_SORT_KEYS) for document in sealed]

    def open(self, rows: Sequence[StoredLogEntry]) -> list[Envelope]:
        sealed: dict[int, dict[str, Any]] = {i: orjson.loads(r.state) for i, r in enumerate(rows) if MARK in r.state}
        values: dict[int, list[SealedValue]] = {i: sealed_values(document) for i, document in sealed.items()}
        key_ids = {key_id for found in values.values() for _, key_id, _ in found}
        ring = self._vault.ring(key_ids) if key_ids else {}
        return [decode(row.topic, row.state) if i not in sealed
                else model_for(row.topic).model_validate(open_document(sealed[i], ring, values[i]))
                for i, row in enumerate(rows)]
