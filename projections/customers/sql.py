"""The customers read model in SQL (SQLite, Postgres): the identity graph's nodes, edges, blocks and sightings,
lineage of merges and splits, and per-anchor facts.

The fold's state is the identity graph, kept in process memory between batches up to `held_nodes` identifiers. While
the tables hold no more than that, the store loads the whole graph once and folds batch after batch into it. Beyond,
it lets go of it all, and before each batch loads the customers the batch names that it does not hold yet, each whole
(`_hold`), letting go again whenever a batch leaves more than `held_nodes`: memory stays bounded however many
customers the log knows (a rebuild holds no more than a live projector). It writes only what changed. What it holds
is tied to the position it reflects: if another process applied a batch meanwhile, or a transaction failed, it lets
go of it and loads afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

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

from domain.identity.graph import DEFAULT_SHARED_THRESHOLD, Changes, IdentityGraph, Node
from domain.identity.identifiers import customer_key
from domain.log import RecordedEvent
from projections.checksum import checksum
from projections.customers.queries import NAME, DecisionRow, SharedIdentifier, decision_of, moved_ids, shared_of
from projections.customers.reducer import (
    TABLE_NAMES,
    AnchorFacts,
    decision_rows,
    edge_of,
    edge_row,
    facts_of,
    facts_row,
    fold,
    node_ids_of,
    node_of,
    node_row,
)
from projections.sqlstore import (
    SqlProjection,
    in_chunks,
    metadata,
    read_position,
    snapshot,
    table_rows,
    upsert_rows,
)

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

HELD_NODES = 50_000
"""Identifiers of the graph a store keeps in memory between batches, at most (beyond, it lets go of them all)."""


class SqlCustomerStore(SqlProjection):
    """The customers read model in SQL; the graph is cached in memory between batches (see the module text)."""

    name = NAME
    tables = _TABLES

    def __init__(self, engine: Engine, shared_threshold: int = DEFAULT_SHARED_THRESHOLD,
                 held_nodes: int = HELD_NODES) -> None:
        super().__init__(engine)
        self._threshold = shared_threshold
        self._held_nodes = held_nodes
        self._graph = IdentityGraph(shared_threshold)
        self._graph_position = -1  # the position the held customers reflect (-1: none held)
        self._whole = False  # whether the graph holds every customer of the tables (then nothing is loaded per batch)

    def reset(self) -> None:
        super().reset()
        self._let_go()

    def apply(self, events: Sequence[RecordedEvent]) -> int:
        try:
            position = super().apply(events)
        except BaseException:
            self._let_go()  # the transaction rolled back: what the graph holds is ahead of it
            raise
        if len(self._graph.nodes) > self._held_nodes:
            self._let_go()
        return position

    def _apply_batch(self, conn: Connection, events: list[RecordedEvent]) -> None:
        after = read_position(conn, self.name, lock=False)  # already locked by `apply` for this transaction
        if self._graph_position != after:
            self._graph, self._whole = _load_graph(conn, self._threshold, self._held_nodes)
        if not self._whole:
            _hold(conn, self._graph, node_ids_of(events))
        anchors = sorted(set(_anchors(events)))
        facts = {f.anchor: f for f in _load_facts(conn, anchors)}
        changed = fold(self._graph, facts, events)
        _write(conn, self._graph.drain(), changed.values())
        self._graph_position = events[-1].position

    def _let_go(self) -> None:
        self._graph, self._graph_position = IdentityGraph(self._threshold), -1

    # -- queries ---------------------------------------------------------------------------------------------------

    def resolve(self, node_id: str) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(select(nodes_table.c.customer_id).where(nodes_table.c.node_id == node_id)
                                ).scalar_one_or_none()

    def resolve_many(self, node_ids: Sequence[str]) -> dict[str, str]:
        t, found = nodes_table.c, dict[str, str]()
        with self._engine.connect() as conn:
            for chunk in in_chunks(sorted(set(node_ids)), 1000):
                rows = conn.execute(select(t.node_id, t.customer_id).where(t.node_id.in_(chunk)))
                found.update((str(node), str(customer)) for node, customer in rows)
        return found

    def identity_changes(self, after: int) -> tuple[int, dict[str, str]]:
        t, d = nodes_table.c, decisions_table.c
        with snapshot(self._engine) as conn:
            position = read_position(conn, self.name, lock=False)
            decided = conn.execute(select(decisions_table).where(d.position > after)).mappings()
            ids, found = sorted(moved_ids(decision_of(row) for row in decided)), dict[str, str]()
            for chunk in in_chunks(ids, 1000):
                rows = conn.execute(select(t.node_id, t.customer_id).where(
                    or_(t.customer_id.in_(chunk), t.node_id.in_(chunk))))
                found.update((str(node), str(customer)) for node, customer in rows)
        return position, found

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
            return [decision_of(r._mapping) for r in conn.execute(statement)]

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
        return [shared_of(n, seen.get(n["node_id"], set()), self.resolve) for n in nodes]

    def _checksum(self, conn: Connection, position: int) -> str:
        return checksum(position, [(name, (_plain(row) for row in table_rows(conn, table)))
                                   for name, table in zip(TABLE_NAMES, _TABLES, strict=True)])


def _anchors(events: Iterable[RecordedEvent]) -> Iterable[str]:
    for recorded in events:
        if recorded.event.CONCERNS_A_CUSTOMER and (anchor := customer_key(recorded.event.customer)) is not None:
            yield anchor


def _load_graph(conn: Connection, threshold: int, held_nodes: int) -> tuple[IdentityGraph, bool]:
    """The whole graph and True if the tables hold at most `held_nodes` identifiers; else an empty graph and
    False (each batch then loads what it names, `_hold`)."""
    graph = IdentityGraph(threshold)
    if conn.execute(select(nodes_table.c.node_id).limit(1).offset(held_nodes)).first() is not None:
        return graph, False
    nodes = [node_of(r._mapping) for r in conn.execute(select(nodes_table))]
    edges = [edge_of(r._mapping) for r in conn.execute(select(edges_table).where(edges_table.c.cut_position.is_(None)))]
    blocks = conn.execute(select(blocks_table.c.a, blocks_table.c.b)).tuples().all()
    seen = conn.execute(select(seen_table.c.node_id, seen_table.c.witness)).tuples().all()
    graph.restore(nodes, edges, blocks, seen)
    return graph, True


def _hold(conn: Connection, graph: IdentityGraph, node_ids: Iterable[str]) -> None:
    """Load into `graph` the customers of `node_ids` it does not hold, each whole, and the nodes their members
    were seen with (IdentityGraph.restore, know); ids in no table are new identifiers."""
    n, e, b, s = nodes_table.c, edges_table.c, blocks_table.c, seen_table.c
    wanted = sorted(node_id for node_id in node_ids if not graph.holds(node_id))
    customers = sorted({c for chunk in in_chunks(wanted) for c in conn.execute(
        select(n.customer_id).where(n.node_id.in_(chunk))).scalars()} - graph.members.keys())
    if not customers:
        return
    nodes = [node_of(r._mapping) for chunk in in_chunks(customers)
             for r in conn.execute(select(nodes_table).where(n.customer_id.in_(chunk)))]
    members = sorted(node.node_id for node in nodes)
    edges = [edge_of(r._mapping) for chunk in in_chunks(members)
             for r in conn.execute(select(edges_table).where(e.a.in_(chunk), e.cut_position.is_(None)))]
    # A block joins two nodes; the rules consult it only once the customers of both are held, and either one's
    # rows give it both ways (IdentityGraph.restore): by its first node, the key's prefix, is enough.
    blocks = [(a, z) for chunk in in_chunks(members) for a, z in conn.execute(
        select(b.a, b.b).where(b.a.in_(chunk))).tuples()]
    seen = [(node_id, witness) for chunk in in_chunks(members) for node_id, witness in conn.execute(
        select(s.node_id, s.witness).where(s.node_id.in_(chunk))).tuples()]
    graph.restore(nodes, edges, blocks, seen)
    witnesses = sorted({witness for _, witness in seen} - graph.nodes.keys())
    graph.know(node_of(r._mapping) for chunk in in_chunks(witnesses)
               for r in conn.execute(select(nodes_table).where(n.node_id.in_(chunk))))


def _load_facts(conn: Connection, anchors: Sequence[str]) -> list[AnchorFacts]:
    found: list[AnchorFacts] = []
    for chunk in in_chunks(anchors):
        found.extend(facts_of(r._mapping) for r in conn.execute(
            select(facts_table).where(facts_table.c.anchor.in_(chunk))))
    return found


def _write(conn: Connection, changes: Changes, facts: Iterable[AnchorFacts]) -> None:
    upsert_rows(conn, nodes_table, [node_row(n) for n in changes.nodes.values()], ["node_id"],
                ["customer_id", "verified", "shared", "display"])
    upsert_rows(conn, edges_table, [edge_row(edge, cut) for edge, cut in changes.edges.values()],
                ["a", "b", "position"], ["cut_position"])
    blocked = [{"a": a, "b": b, "position": p} for (a, b), p in changes.blocks.items() if p is not None]
    upsert_rows(conn, blocks_table, blocked, ["a", "b"], ["position"])
    for (a, b), position in changes.blocks.items():
        if position is None:
            conn.execute(delete(blocks_table).where(blocks_table.c.a == a, blocks_table.c.b == b))
    upsert_rows(conn, seen_table, [{"node_id": n, "witness": w, "position": p} for n, w, p in changes.seen_added])
    if changes.decisions:
        upsert_rows(conn, decisions_table, decision_rows(changes.decisions, {}))
    upsert_rows(conn, facts_table, [facts_row(f) for f in facts], ["anchor"])


def _plain(row: Any) -> dict[str, Any]:
    return {k: (int(v) if isinstance(v, bool) else v) for k, v in dict(row).items()}
