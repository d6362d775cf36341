"""The SERVQUAL read model in process memory: the reference implementation (tests, as-of)."""

from __future__ import annotations

from domain.identity.identifiers import customer_key
from projections.keyed import KeyedMemoryProjection, KeyFn
from projections.servqual.queries import NAME, ServqualReads
from projections.servqual.reducer import reducer


class MemoryServqualStore(KeyedMemoryProjection, ServqualReads):
    name = NAME

    def __init__(self, key_fn: KeyFn = customer_key) -> None:
        super().__init__(reducer(key_fn))
