"""Questions the customers read model answers: the store protocol, its rows, and a customer's anchors (pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.identity.graph import Node
from domain.log import RecordedEvent
from projections.customers.reducer import AnchorFacts

NAME = "customers"


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """A merge, split, shared identifier or refused link as stored: the event that caused it is its lineage."""

    position: int
    seq: int
    event_id: str
    kind: str
    customer_id: str
    others: tuple[str, ...]
    node_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class SharedIdentifier:
    """An identifier detached from every customer because it was seen on too many."""

    node_id: str
    kind: str
    display: str
    first_position: int
    customers: tuple[str, ...]


class CustomerStore(Protocol):
    """Where the customers read model is kept (positions and batches as every projection store)."""

    name: str

    def create(self) -> None: ...
    def position(self) -> int: ...
    def reset(self) -> None: ...
    def apply(self, events: Sequence[RecordedEvent]) -> int: ...
    def resolve(self, node_id: str) -> str | None: ...
    def resolve_many(self, node_ids: Sequence[str]) -> dict[str, str]:
        """The customer of each known node id, in one read (unknown ids left out)."""
    def members(self, customer_id: str) -> list[Node]: ...
    def identity_changes(self, after: int) -> tuple[int, dict[str, str]]:
        """(the store's position, node id -> customer id of every node a merge, split or detachment recorded after
        log position `after` may have moved), read in one snapshot: with `resolve_many` for node ids first met,
        what a reader needs to follow identities without reading every node again."""
    def facts(self, anchors: Sequence[str]) -> list[AnchorFacts]: ...
    def decisions(self, customer_id: str | None = None, limit: int = 100) -> list[DecisionRow]: ...
    def shared(self, limit: int = 100) -> list[SharedIdentifier]: ...
    def checksum(self) -> str: ...


def anchors_of(store: CustomerStore, customer_id: str) -> list[str]:
    """The anchors (stored keys) of the customer an id names now: a resolved id, or an id merged into another
    customer since (followed to it); an id the graph does not know stands for itself."""
    members = store.members(customer_id)
    if members:
        return [n.node_id for n in members]
    now_id = store.resolve(customer_id)
    if now_id is None:
        return [customer_id]
    return [n.node_id for n in store.members(now_id)]


def decision_of(row: Any) -> DecisionRow:
    others = tuple(row["others"].split()) if row["others"] else ()
    return DecisionRow(int(row["position"]), int(row["seq"]), row["event_id"], row["kind"], row["customer_id"],
                       others, row["node_id"], row["reason"])


def shared_of(row: dict[str, Any], seen: set[str], resolve: Callable[[str], str | None]) -> SharedIdentifier:
    customers = sorted({resolve(witness) or witness for witness in seen})
    return SharedIdentifier(row["node_id"], row["kind"], row["display"], int(row["first_position"]),
                            tuple(customers))


def moved_ids(decisions: Iterable[DecisionRow]) -> set[str]:
    """The customer and node ids decisions name: every node whose customer they changed belongs, after them, to
    one of these customers or is the node named (a merge names the survivor and the absorbed; a split the
    customer split and those it became; a shared identifier its node)."""
    found: set[str] = set()
    for decision in decisions:
        found.add(decision.customer_id)
        found.update(decision.others)
        if decision.node_id is not None:
            found.add(decision.node_id)
    return found
