"""In-memory contacts store: the reference implementation (tests, as-of reads)."""

from __future__ import annotations

from datetime import datetime

from domain.identity.identifiers import customer_key
from domain.instants import epoch_us
from domain.log import RecordedEvent
from domain.quality.facts import Fact
from projections.checksum import checksum
from projections.contacts.queries import NAME
from projections.contacts.reducer import KeyFn, fact_row, fold
from projections.protocol import MemoryProjection

TABLE = "quality_contact_facts"


class MemoryContactsStore(MemoryProjection):
    name = NAME

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        self._key_fn = key_fn
        self._clear()

    def _clear(self) -> None:
        self._facts: dict[int, Fact] = {}

    def _fold(self, events: list[RecordedEvent]) -> None:
        self._facts.update(fold(self._facts, events, self._key_fn))

    def facts(self, until: datetime | None = None) -> list[Fact]:
        limit = epoch_us(until) if until is not None else None
        return [self._facts[p] for p in sorted(self._facts)
                if limit is None or self._facts[p].occurred_us <= limit]

    def facts_after(self, position: int, limit: int) -> list[Fact]:
        return [self._facts[p] for p in sorted(p for p in self._facts if p > position)[:limit]]

    def checksum(self) -> str:
        return checksum(self._position, [(TABLE, (fact_row(f) for f in self._facts.values()))])
