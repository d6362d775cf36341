"""Customers read model: who each anchor is now (the identity graph), lineage of merges and splits, shared
identifiers, and per-anchor facts. In-memory reference store and SQL store (SQLite, Postgres).

The SQL store keeps the graph in process memory between batches (it is the fold's state) and writes only what
changed. The cached graph is tied to the position it reflects: if another process applied a batch meanwhile, or a
transaction failed, it is reloaded from the tables before the next batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    or_,
    select,
)

from domain.identity.graph import DEFAULT_SHARED_THRESHOLD, Changes, Edge, EdgeReason, IdentityGraph, Node
from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from projections.checksum import checksum
from projections.customers.reducer import (
    NAME,
    AnchorFacts,
    decision_rows,
    edge_row,
    facts_of,
    facts_row,
    fold,
    node_of,
    node_row,
)
from projections.protocol import MemoryProjection
from projections.sqlstore import SqlProjection, dialect_insert, in_chunks, metadata, read_position


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
    def members(self, customer_id: str) -> list[Node]: ...
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
        return [("nodes", self.nodes.values()), ("edges", self.edges.values()), ("blocks", self.blocks.values()),
                ("seen", self.seen.values()), ("decisions", self.decisions.values()), ("facts", self.facts.values())]


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

    def members(self, customer_id: str) -> list[Node]:
        return self._graph.members_of(customer_id)

    def facts(self, anchors: Sequence[str]) -> list[AnchorFacts]:
        return [self._facts[a] for a in sorted(set(anchors)) if a in self._facts]

    def decisions(self, customer_id: str | None = None, limit: int = 100) -> list[DecisionRow]:
        rows = [_decision(r) for _, r in sorted(self._rows.decisions.items())]
        if customer_id is not None:
            rows = [r for r in rows if r.customer_id == customer_id or customer_id in r.others]
        return rows[:limit]

    def shared(self, limit: int = 100) -> list[SharedIdentifier]:
        nodes = sorted((n for n in self._graph.nodes.values() if n.shared), key=lambda n: n.age)[:limit]
        return [_shared(node_row(n), self._graph.seen_with.get(n.node_id, set()), self.resolve) for n in nodes]

    def checksum(self) -> str:
        return checksum(self._position, self._rows.tables())


nodes_table = Table(
    "customer_nodes",
    metadata,
    Column("node_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("display", String(200), nullable=False),
    Column("first_position", BigInteger, nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("verified", Integer, nullable=False),
    Column("shared", Integer, nullable=False),
    Index("ix_customer_nodes_customer", "customer_id", "first_position"),
)

edges_table = Table(
    "customer_edges",
    metadata,
    Column("a", String(36), nullable=False),
    Column("b", String(36), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("reason", String(16), nullable=False),
    Column("cut_position", BigInteger),
    PrimaryKeyConstraint("a", "b", "position"),
)

blocks_table = Table(
    "customer_blocks",
    metadata,
    Column("a", String(36), nullable=False),
    Column("b", String(36), nullable=False),
    Column("position", BigInteger, nullable=False),
    PrimaryKeyConstraint("a", "b"),
)

seen_table = Table(
    "customer_seen",
    metadata,
    Column("node_id", String(36), nullable=False),
    Column("witness", String(36), nullable=False),  # an identifier of another person it was seen with
    Column("position", BigInteger, nullable=False),
    PrimaryKeyConstraint("node_id", "witness"),
)

decisions_table = Table(
    "customer_decisions",
    metadata,
    Column("position", BigInteger, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("others", Text, nullable=False),
    Column("node_id", String(36)),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("position", "seq"),
    Index("ix_customer_decisions_customer", "customer_id"),
)

facts_table = Table(
    "customer_facts",
    metadata,
    Column("anchor", String(36), primary_key=True),
    Column("first_us", BigInteger, nullable=False),
    Column("last_us", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
    Column("contacts", Integer, nullable=False),
    Column("declared_segment", String(200)),
    Column("segment_position", BigInteger, nullable=False),
    Column("survey_score", Float),
    Column("survey_us", BigInteger),
    Column("survey_position", BigInteger, nullable=False),
)

_TABLES = (nodes_table, edges_table, blocks_table, seen_table, decisions_table, facts_table)
_NAMES = ("nodes", "edges", "blocks", "seen", "decisions", "facts")


class SqlCustomerStore(SqlProjection):
    """The customers read model in SQL; the graph is cached in memory between batches (see the module text)."""

    name = NAME
    tables = _TABLES

    def __init__(self, engine: Engine, shared_threshold: int = DEFAULT_SHARED_THRESHOLD) -> None:
        super().__init__(engine)
        self._threshold = shared_threshold
        self._graph: IdentityGraph | None = None
        self._graph_position = -1

    def reset(self) -> None:
        super().reset()
        self._graph, self._graph_position = None, -1

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        try:
            position = super().apply(events)
        except BaseException:
            self._graph, self._graph_position = None, -1  # the transaction rolled back: the cache is ahead of it
            raise
        if self._graph is not None:
            self._graph_position = position
        return position

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        after = read_position(conn, self.name, lock=False)  # already locked by `apply` for this transaction
        if self._graph is None or self._graph_position != after:
            self._graph = _load_graph(conn, self._threshold)
        anchors = sorted(set(_anchors(events)))
        facts = {f.anchor: f for f in _load_facts(conn, anchors)}
        changed = fold(self._graph, facts, events)
        _write(conn, self._graph.drain(), changed.values())

    # -- queries ---------------------------------------------------------------------------------------------------

    def resolve(self, node_id: str) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(select(nodes_table.c.customer_id).where(nodes_table.c.node_id == node_id)
                                ).scalar_one_or_none()

    def members(self, customer_id: str) -> list[Node]:
        t = nodes_table.c
        with self._engine.connect() as conn:
            rows = conn.execute(select(nodes_table).where(t.customer_id == customer_id)
                                .order_by(t.first_position, t.node_id)).all()
        return [node_of(r._mapping) for r in rows]

    def facts(self, anchors: Sequence[str]) -> list[AnchorFacts]:
        with self._engine.connect() as conn:
            return sorted(_load_facts(conn, sorted(set(anchors))), key=lambda f: f.anchor)

    def decisions(self, customer_id: str | None = None, limit: int = 100) -> list[DecisionRow]:
        t = decisions_table.c
        statement = select(decisions_table).order_by(t.position, t.seq).limit(limit)
        if customer_id is not None:
            statement = statement.where(or_(t.customer_id == customer_id, t.others.contains(customer_id)))
        with self._engine.connect() as conn:
            return [_decision(r._mapping) for r in conn.execute(statement)]

    def shared(self, limit: int = 100) -> list[SharedIdentifier]:
        t = nodes_table.c
        with self._engine.connect() as conn:
            nodes = [dict(r._mapping) for r in conn.execute(
                select(nodes_table).where(t.shared == 1).order_by(t.first_position, t.node_id).limit(limit))]
            ids = [n["node_id"] for n in nodes]
            seen: dict[str, set[str]] = {}
            for chunk in in_chunks(ids):
                for node_id, witness in conn.execute(
                        select(seen_table.c.node_id, seen_table.c.witness).where(seen_table.c.node_id.in_(chunk))):
                    seen.setdefault(node_id, set()).add(witness)
        return [_shared(n, seen.get(n["node_id"], set()), self.resolve) for n in nodes]

    def _checksum(self, conn: Connection, position: int) -> str:
        return checksum(position, [(name, [_plain(r._mapping) for r in conn.execute(select(table))])
                                   for name, table in zip(_NAMES, _TABLES, strict=True)])


def _anchors(events: Iterable[RecordedEvent]) -> Iterable[str]:
    for recorded in events:
        if recorded.event.CONCERNS_A_CUSTOMER and (anchor := customer_key(recorded.event.customer)) is not None:
            yield anchor


def _load_graph(conn: Connection, threshold: int) -> IdentityGraph:
    graph = IdentityGraph(threshold)
    nodes = [node_of(r._mapping) for r in conn.execute(select(nodes_table))]
    edges = [Edge(r.a, r.b, int(r.position), EdgeReason(r.reason))
             for r in conn.execute(select(edges_table).where(edges_table.c.cut_position.is_(None)))]
    blocks = conn.execute(select(blocks_table.c.a, blocks_table.c.b)).tuples().all()
    seen = conn.execute(select(seen_table.c.node_id, seen_table.c.witness)).tuples().all()
    graph.restore(nodes, edges, blocks, seen)
    return graph


def _load_facts(conn: Connection, anchors: Sequence[str]) -> list[AnchorFacts]:
    found: list[AnchorFacts] = []
    for chunk in in_chunks(anchors):
        found.extend(facts_of(r._mapping) for r in conn.execute(
            select(facts_table).where(facts_table.c.anchor.in_(chunk))))
    return found


def _write(conn: Connection, changes: Changes, facts: Iterable[AnchorFacts]) -> None:
    if changes.nodes:
        insert = dialect_insert(conn, nodes_table)
        columns = ("customer_id", "verified", "shared", "display")
        conn.execute(insert.on_conflict_do_update(
            index_elements=["node_id"], set_={c: insert.excluded[c] for c in columns}),
            [node_row(n) for n in changes.nodes.values()])
    if changes.edges:
        insert = dialect_insert(conn, edges_table)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["a", "b", "position"], set_={"cut_position": insert.excluded.cut_position}),
            [edge_row(edge, cut) for edge, cut in changes.edges.values()])
    blocked = [{"a": a, "b": b, "position": p} for (a, b), p in changes.blocks.items() if p is not None]
    if blocked:
        insert = dialect_insert(conn, blocks_table)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["a", "b"], set_={"position": insert.excluded.position}), blocked)
    for (a, b), position in changes.blocks.items():
        if position is None:
            conn.execute(delete(blocks_table).where(blocks_table.c.a == a, blocks_table.c.b == b))
    if changes.seen_added:
        conn.execute(dialect_insert(conn, seen_table).on_conflict_do_nothing(),
                     [{"node_id": n, "witness": w, "position": p} for n, w, p in changes.seen_added])
    if changes.decisions:
        conn.execute(dialect_insert(conn, decisions_table).on_conflict_do_nothing(),
                     decision_rows(changes.decisions, {}))
    rows = [facts_row(f) for f in facts]
    if rows:
        insert = dialect_insert(conn, facts_table)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["anchor"], set_={c: insert.excluded[c] for c in rows[0] if c != "anchor"}), rows)


def _decision(row: Any) -> DecisionRow:
    others = tuple(row["others"].split()) if row["others"] else ()
    return DecisionRow(int(row["position"]), int(row["seq"]), row["event_id"], row["kind"], row["customer_id"],
                       others, row["node_id"], row["reason"])


def _shared(row: dict[str, Any], seen: set[str], resolve: Any) -> SharedIdentifier:
    customers = sorted({resolve(witness) or witness for witness in seen})
    return SharedIdentifier(row["node_id"], row["kind"], row["display"], int(row["first_position"]),
                            tuple(customers))


def _plain(row: Any) -> dict[str, Any]:
    return {k: (int(v) if isinstance(v, bool) else v) for k, v in dict(row).items()}


__all__ = ["CustomerStore", "DecisionRow", "MemoryCustomerStore", "SharedIdentifier", "SqlCustomerStore",
           "anchors_of"]
