"""Erasing a customer: destroy the data keys of every anchor they cover, then record a non-personal event.

Steps of `erase` (the order is what keeps clear values from surviving anywhere):
1. append the events of earlier erasures that crashed between steps 2 and 3 (see `record_pending`);
2. resolve the customer's anchors (`anchors_of`, injected: identity resolution maps a customer id to the customer
   ids of all their identifiers), delete their keys and record the erasure, in one vault transaction. From here
   on every `EventStore.read` opens their values as the pseudonym `erased-<erasure id>`;
3. append `privacy.subject_erased` (key ids and reason only). Its event id follows from the erasure id, so a retry
   cannot record it twice;
4. the projector, on applying that event, rebuilds every read model from zero
   (services.application.projector.engine): every batch it reads then was read after step 2, so no clear value of
   the customer remains in a read model.

Not covered (docs/audit.md, "Erasure"): free text written by staff, Kafka topics until their retention expires,
database backups (they hold the wrapped keys: a restore brings the keys back).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contracts import PrivacySubjectErased
from projections.customers.queries import CustomerStore
from projections.customers.queries import anchors_of as covered_anchors
from services.adapters.clock import Clock, utc_now
from services.adapters.privacy.keys import open_vault
from services.adapters.privacy.vault import KeyVault, PendingErasure, pseudonym
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore, StoreConflict

log = logging.getLogger(__name__)
AnchorsOf = Callable[[str], Sequence[str]]
"""Customer id → the anchor ids (customer ids of single identifiers) whose keys erasing that customer destroys."""
ERASURE_NAMESPACE = uuid.UUID("0c5b8f0e-5d8a-4f7e-9a3e-2f4a6b8c1d20")
SOURCE = {"department": "touchline", "channel": "internal", "system": "touchline"}


class ErasureError(Exception):
    """Base of erasure errors.

    ErasureError
     └── NothingToErase   no key is held for any anchor of the customer (unknown, or erased already)
    """


class NothingToErase(ErasureError):
    pass


def single_anchor(customer_id: str) -> list[str]:
    """The default `anchors_of` until identity resolution: a customer id is its own (strongest identifier's) anchor."""
    return [customer_id]


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did: its random id, the keys destroyed, and the log position of its event."""

    erasure_id: str
    key_ids: tuple[str, ...]
    event_id: str
    position: int | None

    @property
    def pseudonym(self) -> str:
        return pseudonym(self.erasure_id)


class ErasureService:
    def __init__(self, store: EventStore, vault: KeyVault, anchors_of: AnchorsOf = single_anchor,
                 clock: Clock = utc_now) -> None:
        self._store, self._vault, self._anchors_of, self._clock = store, vault, anchors_of, clock

    def close(self) -> None:
        self._vault.close()

    def erase(self, customer_id: str, reason: str, requested_by: str) -> Erasure:
        """Steps 1-3 of the module docstring; raises NothingToErase when no key is held for the customer."""
        self.record_pending(requested_by)
        erasure_id = str(uuid.uuid4())
        event_id = str(uuid.uuid5(ERASURE_NAMESPACE, erasure_id))
        self._event(PendingErasure(erasure_id, event_id, 0, reason, (erasure_id,)), requested_by)  # valid first
        anchors = list(dict.fromkeys(self._anchors_of(customer_id)))
        key_ids = self._vault.destroy(anchors, erasure_id, event_id, reason, self._clock())
        if not key_ids:
            raise NothingToErase(f"no personal data is held under customer {customer_id} (unknown or already erased)")
        position = self._record(PendingErasure(erasure_id, event_id, 0, reason, key_ids), requested_by)
        log.info("erasure %s: %d data key(s) destroyed, recorded at position %s", erasure_id, len(key_ids), position)
        return Erasure(erasure_id, key_ids, event_id, position)

    def record_pending(self, requested_by: str = "touchline") -> list[Erasure]:
        """Append the events of erasures whose keys are destroyed but whose event was never recorded."""
        return [Erasure(p.erasure_id, p.key_ids, p.event_id, self._record(p, requested_by))
                for p in self._vault.pending()]

    def _event(self, erasure: PendingErasure, requested_by: str) -> PrivacySubjectErased:
        """The erasure's event (raises pydantic's ValidationError for a reason or agent the contract refuses)."""
        return PrivacySubjectErased.model_validate({
            "event_id": erasure.event_id,
            "occurred_at": self._clock(),
            "source": SOURCE | {"agent": requested_by},
            "payload": {"erasure_id": erasure.erasure_id, "key_ids": erasure.key_ids, "reason": erasure.reason},
        })

    def _record(self, erasure: PendingErasure, requested_by: str) -> int | None:
        event = self._event(erasure, requested_by)
        try:
            positions = self._store.append([event])
        except StoreConflict:  # recorded by an earlier attempt that crashed before noting it
            positions = []
        position = positions[0] if positions else 0  # 0: recorded, position not known
        self._vault.recorded(erasure.erasure_id, position)
        return position or None


def rebuild_note(position: int | None) -> str:
    """What to tell whoever erased about the read models."""
    where = f"position {position}" if position else "the erasure event"
    return (f"the projector rebuilds every read model from zero when it reaches {where}; "
            "if no projector runs, run `touchline rebuild all` before serving the read models again")


def build_erasure_service(settings: Settings, store: EventStore, anchors_of: AnchorsOf = single_anchor,
                          clock: Clock = utc_now) -> ErasureService:
    """Erasures over `store`; `close()` the service's vault with `service.close()`."""
    return ErasureService(store, open_vault(settings), anchors_of, clock)


def erasure_service(settings: Settings, event_store: EventStore,
                    directory: CustomerStore | None = None) -> ErasureService:
    """What `POST /v1/privacy/erasures` and `touchline privacy erase` use: a customer id names the anchors of every
    identifier resolved to it (the identity read model), whose keys an erasure destroys; without that read model,
    the id is its own single anchor."""
    if directory is None:
        return build_erasure_service(settings, event_store, single_anchor)
    known = directory
    return build_erasure_service(settings, event_store, lambda customer_id: covered_anchors(known, customer_id))
