"""The customers read model in process memory: the reference implementation of `CustomerStore`, for tests and
as-of."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from domain.identity.graph import DEFAULT_SHARED_THRESHOLD, Changes, IdentityGraph, Node
from domain.log import RecordedEvent
from projections.checksum import checksum
from projections.customers.queries import NAME, DecisionRow, SharedIdentifier, decision_of, moved_ids, shared_of
from projections.customers.reducer import (
    TABLE_NAMES,
    AnchorFacts,
    decision_rows,
    edge_row,
    facts_row,
    fold,
    node_row,
)
from projections.protocol import MemoryProjection


class _Rows:
    """The rows of the read model as dictionaries: the memory store's tables, and the checksum's input."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str, int], dict[str, Any]] = {}
        self.blocks: dict[tuple[str, str], dict[str, Any]] = {}
        self.seen: dict[tuple[str, str], dict[str, Any]] = {}
        self.decisions: dict[tuple[int, int], dict[str, Any]] = {}
        self.facts: dict[str, dict[str, Any]] = {}

    def record(self, changes: Changes, facts: Iterable[AnchorFacts]) -> None:
        for node in changes.nodes.values():
            self.nodes[node.node_id] = node_row(node)
        for key, (edge, cut) in changes.edges.items():
            self.edges[key] = edge_row(edge, cut)
        for (a, b), position in changes.blocks.items():
            if position is None:
                self.blocks.pop((a, b), None)
            else:
                self.blocks[(a, b)] = {"a": a, "b": b, "position": position}
        for node_id, witness, position in changes.seen_added:
            self.seen[(node_id, witness)] = {"node_id": node_id, "witness": witness, "position": position}
        for row in decision_rows(changes.decisions, {}):
            self.decisions[(row["position"], row["seq"])] = row
        for item in facts:
            self.facts[item.anchor] = facts_row(item)

    def tables(self) -> list[tuple[str, Iterable[dict[str, Any]]]]:
        rows: tuple[Iterable[dict[str, Any]], ...] = (
            self.nodes.values(), self.edges.values(), self.blocks.values(), self.seen.values(),
            self.decisions.values(), self.facts.values())
        return list(zip(TABLE_NAMES, rows, strict=True))


class MemoryCustomerStore(MemoryProjection):
    """The customers read model in process memory: the reference implementation, for tests."""

    name = NAME

    def __init__(self, shared_threshold: int = DEFAULT_SHARED_THRESHOLD) -> None:
        self._threshold = shared_threshold
        self.reset()

    def _clear(self) -> None:
        self._graph = IdentityGraph(self._threshold)
        self._facts: dict[str, AnchorFacts] = {}
        self._rows = _Rows()

    def _fold(self, events: list[RecordedEvent]) -> None:
        changed = fold(self._graph, self._facts, events)
        self._rows.record(self._graph.drain(), changed.values())

    def resolve(self, node_id: str) -> str | None:
        return self._graph.customer_of(node_id)

    def resolve_many(self, node_ids: Sequence[str]) -> dict[str, str]:
        found = {node_id: self._graph.customer_of(node_id) for node_id in node_ids}
        return {node_id: customer for node_id, customer in found.items() if customer is not None}

    def identity_changes(self, after: int) -> tuple[int, dict[str, str]]:
        ids = moved_ids(decision_of(r) for (position, _), r in self._rows.decisions.items() if position > after)
        return self._position, {n.node_id: n.customer_id for n in self._graph.nodes.values()
                                if n.customer_id in ids or n.node_id in ids}

    def members(self, customer_id: str) -> list[Node]:
        return self._graph.members_of(customer_id)

    def facts(self, anchors: Sequence[str]) -> list[AnchorFacts]:
        return [self._facts[a] for a in sorted(set(anchors)) if a in self._facts]

    def decisions(self, customer_id: str | None = None, limit: int = 100) -> list[DecisionRow]:
        rows = [decision_of(r) for _, r in sorted(self._rows.decisions.items())]
        if customer_id is not None:
            rows = [r for r in rows if r.customer_id == customer_id or customer_id in r.others]
        return rows[:limit]

    def shared(self, limit: int = 100) -> list[SharedIdentifier]:
        nodes = sorted((n for n in self._graph.nodes.values() if n.shared), key=lambda n: n.age)[:limit]
        return [shared_of(node_row(n), self._graph.seen_with.get(n.node_id, set()), self.resolve) for n in nodes]

    def checksum(self) -> str:
        return checksum(self._position, self._rows.tables())
