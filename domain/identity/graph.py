"""Identity graph: which identifiers belong to one customer.

Nodes are normalised identifiers (national IDs as keyed digests); a node's id is the customer id derived from that
one identifier (`customer_id_for`), which is also the key every read model stores events under (the event's
*anchor*, its strongest identifier). Edges say why two identifiers were joined; a customer is a connected component
and its id is the id of its oldest node (the strongest, among nodes first seen together), so a customer keeps its
id when others merge into it and gets it back when a split undoes the merge.

Rules, applied per event in log order (pure and deterministic: the same events give the same customers, bit for bit):
- Strong identifiers (customer number, national ID, and any identifier verified by an explicit verified link) link
  automatically when they appear together on one event.
- A new identifier attaches to the customer of the identifiers it arrives with; a weak identifier never merges two
  known customers on its own (the refusal is a decision, and the weak identifier is "seen on" the other customer).
- A customer holds at most one customer number and one national ID: a merge that would give it two is refused
  unless an agent links them explicitly.
- An identifier seen on more than `shared_threshold` customers that are different people (different customer
  numbers or national IDs: a switchboard, a family e-mail) is shared: it is detached from every customer, stops
  linking, and is reported. A weak identifier on two customers that may be one person is a refused link, reported
  for an agent to confirm, not a shared identifier.
- Agents link explicitly (`identity.identifiers_linked`) and unlink (`identity.identifiers_unlinked`). An unlink
  recomputes the customer from its edges in log order, leaving out every edge that would join the two identifiers
  again: the split restores the separate customers exactly, and later events cannot silently rejoin them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from domain.identity.identifiers import STRENGTH, Identifier, IdentifierKind, customer_id_for

EXCLUSIVE: frozenset[IdentifierKind] = frozenset({IdentifierKind.CUSTOMER_NUMBER, IdentifierKind.NATIONAL_ID})
"""Kinds a person has one of: they are strong without verification, and two different ones mean two people."""

DEFAULT_SHARED_THRESHOLD = 1
_RANK = {kind: rank for rank, kind in enumerate(STRENGTH)}


class EdgeReason(StrEnum):
    STRONG = "strong"  # strong identifiers on one event
    ATTACHED = "attached"  # a new identifier arrived with a known one (or a new customer with a known identifier)
    EXPLICIT = "explicit"  # an agent linked them (identity.identifiers_linked)


class DecisionKind(StrEnum):
    MERGED = "merged"  # customers became one: `customer_id` survives, `others` were absorbed
    SPLIT = "split"  # a customer became several: `customer_id` was split into `others` (itself included if kept)
    SHARED = "shared"  # identifier `node_id` is shared: seen on `others`, detached from `customer_id`
    REFUSED = "refused"  # a link was not made: `node_id` stays with its customer, `others` is the one refused


@dataclass(slots=True)
class Node:
    """One normalised identifier. `display` is a masked form safe to show on screen."""

    node_id: str
    kind: IdentifierKind
    display: str
    first_position: int
    customer_id: str
    verified: bool = False
    shared: bool = False

    @property
    def strong(self) -> bool:
        return self.kind in EXCLUSIVE or self.verified

    @property
    def age(self) -> tuple[int, int, str]:
        """Oldest first; among identifiers first seen on the same event, the strongest (the event's anchor)."""
        return (self.first_position, _RANK[self.kind], self.node_id)


@dataclass(frozen=True, slots=True)
class Edge:
    """Why two identifiers were joined, and by which event."""

    a: str
    b: str
    position: int
    reason: EdgeReason

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b) if self.a <= self.b else (self.b, self.a)


@dataclass(frozen=True, slots=True)
class Decision:
    """A merge, split, shared identifier or refused link, with the event that caused it (its lineage)."""

    position: int
    event_id: str
    kind: DecisionKind
    customer_id: str
    others: tuple[str, ...]
    node_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Sighting:
    """An identifier as an event carries it, with the masked form to display."""

    identifier: Identifier
    display: str

    @property
    def node_id(self) -> str:
        return customer_id_for(self.identifier)


@dataclass(slots=True)
class Changes:
    """What changed since the last `drain`: rows for a read model to upsert or insert."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, int], tuple[Edge, int | None]] = field(default_factory=dict)  # -> cut position
    blocks: dict[tuple[str, str], int | None] = field(default_factory=dict)  # -> position, None once lifted
    seen_added: list[tuple[str, str, int]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


class IdentityGraph:
    """The graph as state: mutated in place by `observe`, `link` and `unlink`, in log order."""

    def __init__(self, shared_threshold: int = DEFAULT_SHARED_THRESHOLD) -> None:
        if shared_threshold < 1:
            raise ValueError("shared_threshold must be at least 1")
        self.shared_threshold = shared_threshold
        self.nodes: dict[str, Node] = {}
        self.members: dict[str, set[str]] = {}  # customer id -> node ids
        self.edges: dict[str, list[Edge]] = {}  # customer id -> edges inside that customer
        self.pairs: set[tuple[str, str]] = set()  # node pairs with a live edge
        self.blocked: dict[str, set[str]] = {}  # node -> nodes it was unlinked from
        self.seen_with: dict[str, set[str]] = {}  # node -> identifiers of other people it was seen with
        self.changes = Changes()

    # -- loading (a read model restores the state it wrote) ------------------------------------------------------
    # A read model may restore only the customers a batch names (each whole: nodes, edges, blocks and sightings of
    # its members, and the nodes those were seen with, `know`): the rules consult nothing else.

    def restore(self, nodes: Iterable[Node], edges: Iterable[Edge], blocks: Iterable[tuple[str, str]],
                seen: Iterable[tuple[str, str]]) -> None:
        for node in nodes:
            self.nodes[node.node_id] = node
            self.members.setdefault(node.customer_id, set()).add(node.node_id)
            self.edges.setdefault(node.customer_id, [])
        for edge in sorted(edges, key=_edge_order):
            self.edges[self.nodes[edge.a].customer_id].append(edge)
            self.pairs.add(edge.pair)
        for a, b in blocks:
            self.blocked.setdefault(a, set()).add(b)
            self.blocked.setdefault(b, set()).add(a)
        for node_id, customer_id in seen:
            self.seen_with.setdefault(node_id, set()).add(customer_id)

    def know(self, nodes: Iterable[Node]) -> None:
        """Take up nodes without their customers (identifiers others were seen with): only their customer ids are
        consulted; a node already held stays as it is."""
        for node in nodes:
            self.nodes.setdefault(node.node_id, node)

    def holds(self, node_id: str) -> bool:
        """Whether the node and all of its customer are held (a node it has never seen may be new, or not loaded)."""
        node = self.nodes.get(node_id)
        return node is not None and node.customer_id in self.members

    def drain(self) -> Changes:
        changes, self.changes = self.changes, Changes()
        return changes

    # -- queries ------------------------------------------------------------------------------------------------

    def customer_of(self, node_id: str) -> str | None:
        node = self.nodes.get(node_id)
        return node.customer_id if node is not None else None

    def members_of(self, customer_id: str) -> list[Node]:
        return sorted((self.nodes[n] for n in self.members.get(customer_id, ())), key=lambda n: n.age)

    # -- events ----------------------------------------------------------------------------------------------------

    def observe(self, position: int, event_id: str, sightings: Sequence[Sighting]) -> None:
        """An ordinary event carrying identifiers (strongest first): attach, link or refuse, as the rules say."""
        nodes = self._nodes_for(position, sightings)
        center = next((n for n in nodes if not n.shared), None)
        if center is None:
            return
        for other in nodes:
            if other is center or other.shared:
                continue
            self._consider(position, event_id, center, other)

    def link(self, position: int, event_id: str, sightings: Sequence[Sighting], verified: bool, reason: str) -> None:
        """An agent says these identifiers are one customer: merge them (shared identifiers excepted)."""
        nodes = self._nodes_for(position, sightings)
        if verified:
            for node in nodes:
                if not node.verified:
                    node.verified = True
                    self._touch(node)
        usable = [n for n in nodes if not n.shared]
        for node in nodes:
            if node.shared:
                self._decide(position, event_id, DecisionKind.REFUSED, node.customer_id, (), node.node_id,
                             f"shared identifier not linked: {reason}")
        if not usable:
            return
        center = usable[0]
        for other in usable[1:]:
            self._unblock(center.customer_id, other.customer_id)
            self._join(position, event_id, center, other, EdgeReason.EXPLICIT, f"linked by agent: {reason}")

    def unlink(self, position: int, event_id: str, identifier: Sighting, source: Sighting, reason: str) -> None:
        """An agent says `identifier` does not belong with `source`: block the pair and split if they are joined."""
        one, two = self._nodes_for(position, (identifier, source))
        if one is two:
            return
        self.blocked.setdefault(one.node_id, set()).add(two.node_id)
        self.blocked.setdefault(two.node_id, set()).add(one.node_id)
        self.changes.blocks[_pair(one.node_id, two.node_id)] = position
        if one.customer_id == two.customer_id:
            self._split(position, event_id, one.customer_id, frozenset(), f"unlinked by agent: {reason}")

    # -- rules -----------------------------------------------------------------------------------------------------

    def _consider(self, position: int, event_id: str, center: Node, other: Node) -> None:
        here, there = center.customer_id, other.customer_id
        if here == there:
            self._add_redundant_edge(center, other, position)
            return
        fresh_here, fresh_there = self._fresh(here, position), self._fresh(there, position)
        refusal: str | None = None
        different_people = self._exclusive_conflict(here, there)
        if self._blocked_between(here, there):
            refusal = "the identifiers were unlinked by an agent"
        elif different_people:
            refusal = "the customers hold different customer numbers or national IDs"
        elif not (center.strong and other.strong) and not (fresh_here or fresh_there):
            refusal = "a weak identifier never merges two known customers"
        if refusal is None:
            reason = EdgeReason.STRONG if center.strong and other.strong else EdgeReason.ATTACHED
            self._join(position, event_id, center, other, reason, f"{reason.value} on one event")
            return
        self._decide(position, event_id, DecisionKind.REFUSED, there, (here,), other.node_id, refusal)
        if different_people and other.kind not in EXCLUSIVE:
            self._seen(position, event_id, other, center.node_id)

    def _seen(self, position: int, event_id: str, node: Node, witness: str) -> None:
        """`node` was seen with `witness`, an identifier of another person: count the people it was seen on, and
        share it once they are over the threshold (customer numbers and national IDs are never shared: a
        conflict there is refused and reported, not detached). Witnesses are identifiers, not customer ids, so
        the report follows later merges and splits."""
        seen = self.seen_with.setdefault(node.node_id, set())
        if witness not in seen:
            seen.add(witness)
            self.changes.seen_added.append((node.node_id, witness, position))
        customers = {self.nodes[n].customer_id for n in seen} | {node.customer_id}
        if len(customers) <= self.shared_threshold or node.shared:
            return
        own = [n for n in self.members[node.customer_id] if n != node.node_id]
        if own:  # the person it leaves is one of those it was seen on
            oldest = min(own, key=lambda n: self.nodes[n].age)
            if oldest not in seen:
                seen.add(oldest)
                self.changes.seen_added.append((node.node_id, oldest, position))
        node.shared = True
        self._touch(node)
        before = node.customer_id
        self._split(position, event_id, before, frozenset({node.node_id}),
                    f"shared identifier detached from {len(customers)} customers")
        people = tuple(sorted({self.nodes[n].customer_id for n in seen}))
        self._decide(position, event_id, DecisionKind.SHARED, before, people, node.node_id,
                     f"{node.kind.value} seen on {len(customers)} customers (threshold {self.shared_threshold})")

    def _join(self, position: int, event_id: str, a: Node, b: Node, reason: EdgeReason, why: str) -> None:
        edge = Edge(a.node_id, b.node_id, position, reason)
        here, there = a.customer_id, b.customer_id
        if here == there:
            self._add_redundant_edge(a, b, position, reason)
            return
        survivor, absorbed = sorted((here, there), key=lambda c: self.nodes[c].age)
        for node_id in self.members.pop(absorbed):
            node = self.nodes[node_id]
            node.customer_id = survivor
            self._touch(node)
            self.members[survivor].add(node_id)
        self.edges[survivor].extend(self.edges.pop(absorbed))
        self._add_edge(survivor, edge)
        self._decide(position, event_id, DecisionKind.MERGED, survivor, (absorbed,), None, why)

    def _split(self, position: int, event_id: str, customer_id: str, excluded: frozenset[str], why: str) -> None:
        """Recompute a customer from its edges in log order, leaving out blocked joins and edges of `excluded`."""
        members = sorted(self.members.pop(customer_id))
        edges = sorted(self.edges.pop(customer_id), key=_edge_order)
        groups: dict[str, set[str]] = {n: {n} for n in members}
        root: dict[str, str] = {n: n for n in members}
        kept: list[Edge] = []
        for edge in edges:
            ra, rb = root[edge.a], root[edge.b]
            if edge.a in excluded or edge.b in excluded or (ra != rb and self._blocks(groups[ra], groups[rb])):
                self.pairs.discard(edge.pair)
                self.changes.edges[(edge.a, edge.b, edge.position)] = (edge, position)
                continue
            kept.append(edge)
            if ra != rb:
                small, large = sorted((ra, rb), key=lambda r: (len(groups[r]), r))
                for n in groups[small]:
                    root[n] = large
                groups[large] |= groups.pop(small)
        into: list[str] = []
        for group in sorted(groups.values(), key=lambda g: min(self.nodes[n].age for n in g)):
            new_id = min(group, key=lambda n: self.nodes[n].age)
            into.append(new_id)
            self.members[new_id] = set(group)
            self.edges[new_id] = []
            for n in group:
                node = self.nodes[n]
                if node.customer_id != new_id:
                    node.customer_id = new_id
                    self._touch(node)
        for edge in kept:
            self.edges[self.nodes[edge.a].customer_id].append(edge)
        if len(into) > 1:
            self._decide(position, event_id, DecisionKind.SPLIT, customer_id, tuple(into), None, why)

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _nodes_for(self, position: int, sightings: Sequence[Sighting]) -> list[Node]:
        nodes: list[Node] = []
        for sighting in sightings:
            node_id = sighting.node_id
            node = self.nodes.get(node_id)
            if node is None:
                node = Node(node_id, sighting.identifier.kind, sighting.display, position, node_id)
                self.nodes[node_id] = node
                self.members[node_id] = {node_id}
                self.edges[node_id] = []
                self._touch(node)
            if node not in nodes:
                nodes.append(node)
        return nodes

    def _fresh(self, customer_id: str, position: int) -> bool:
        """Whether every identifier of the customer first appeared on this event (a customer being created)."""
        return all(self.nodes[n].first_position == position for n in self.members[customer_id])

    def _exclusive_conflict(self, here: str, there: str) -> bool:
        kinds_here = {self.nodes[n].kind for n in self.members[here]} & EXCLUSIVE
        return any(self.nodes[n].kind in kinds_here for n in self.members[there])

    def _blocked_between(self, here: str, there: str) -> bool:
        return self._blocks(self.members[here], self.members[there])

    def _blocks(self, one: set[str], two: set[str]) -> bool:
        small, large = (one, two) if len(one) <= len(two) else (two, one)
        return any(not self.blocked.get(n, set()).isdisjoint(large) for n in small)

    def _unblock(self, here: str, there: str) -> None:
        """An explicit link lifts earlier unlinks between the two customers."""
        for n in sorted(self.members[here]):
            for m in sorted(self.blocked.get(n, set()) & self.members[there]):
                self.blocked[n].discard(m)
                self.blocked[m].discard(n)
                self.changes.blocks[_pair(n, m)] = None

    def _add_redundant_edge(self, a: Node, b: Node, position: int, reason: EdgeReason = EdgeReason.ATTACHED) -> None:
        """Keep one edge per pair: a later split must know every path the log gave, not only the first one."""
        edge = Edge(a.node_id, b.node_id, position, reason)
        if edge.pair not in self.pairs:
            self._add_edge(a.customer_id, edge)

    def _add_edge(self, customer_id: str, edge: Edge) -> None:
        self.edges[customer_id].append(edge)
        self.pairs.add(edge.pair)
        self.changes.edges[(edge.a, edge.b, edge.position)] = (edge, None)

    def _touch(self, node: Node) -> None:
        self.changes.nodes[node.node_id] = node

    def _decide(self, position: int, event_id: str, kind: DecisionKind, customer_id: str, others: tuple[str, ...],
                node_id: str | None, reason: str) -> None:
        self.changes.decisions.append(Decision(position, event_id, kind, customer_id, others, node_id, reason))


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _edge_order(edge: Edge) -> tuple[int, str, str]:
    return (edge.position, edge.a, edge.b)
