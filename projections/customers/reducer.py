"""Customers projection reducer: the identity graph and per-anchor facts, folded from the log (pure, no I/O).

Every read model stores an event under its *anchor*: the id of the event's strongest identifier
(`customer_key`). This projection says which customer each anchor belongs to now, so merges re-home earlier events
and splits send them back without rewriting any other read model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts import (
    CaseOpenedPayload,
    CustomerIdentifier,
    CustomerRef,
    IdentityIdentifiersLinkedPayload,
    IdentityIdentifiersUnlinkedPayload,
    SurveyServqualAnsweredPayload,
)
from domain.cases.context import is_contact_event
from domain.evolve import evolve as replace
from domain.identity.graph import Changes, Decision, Edge, EdgeReason, IdentityGraph, Node, Sighting
from domain.identity.identifiers import (
    STRENGTH,
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    customer_id_for,
    customer_key,
    identifiers_of,
    mask,
    normalise,
)
from domain.log import RecordedEvent

TABLE_NAMES = ("nodes", "edges", "blocks", "seen", "decisions", "facts")  # the checksum's names, in the SQL order
_RANK = {kind: rank for rank, kind in enumerate(STRENGTH)}


@dataclass(frozen=True, slots=True)
class AnchorFacts:
    """What the card needs of one anchor beyond the timeline: first and last contact, declared segment, survey."""

    anchor: str
    first_us: int
    last_us: int
    events: int
    contacts: int
    declared_segment: str | None = None
    segment_position: int = 0
    survey_score: float | None = None
    survey_us: int | None = None
    survey_position: int = 0


def sightings_of(customer: CustomerRef) -> list[Sighting]:
    """The identifiers of a (protected) customer reference, strongest first, with their masked display."""
    return [Sighting(found, _display(found, customer)) for found in identifiers_of(customer)]


def payload_sighting(identifier: CustomerIdentifier) -> Sighting | None:
    """An identifier named by an identity event (national IDs arrive as digests); None if it cannot be read."""
    kind = IdentifierKind(identifier.kind)
    try:
        found = Identifier(kind, identifier.value) if kind is IdentifierKind.NATIONAL_ID else normalise(
            kind, identifier.value)
    except InvalidIdentifier:
        return None
    return Sighting(found, "national ID (digest)" if kind is IdentifierKind.NATIONAL_ID else mask(found))


def apply_event(graph: IdentityGraph, facts: dict[str, AnchorFacts], recorded: RecordedEvent) -> AnchorFacts | None:
    """Fold one event into the graph (in place) and return the anchor's new facts, if the event has an anchor."""
    event, position, event_id = recorded.event, recorded.position, recorded.event_id
    payload = event.payload
    if isinstance(payload, IdentityIdentifiersLinkedPayload):
        found = [s for s in (payload_sighting(i) for i in payload.identifiers) if s is not None]
        graph.link(position, event_id, _strongest_first(found), payload.verified, payload.reason)
    elif isinstance(payload, IdentityIdentifiersUnlinkedPayload):
        one, two = payload_sighting(payload.identifier), payload_sighting(payload.from_identifier)
        if one is not None and two is not None:
            graph.unlink(position, event_id, one, two, payload.reason)
    if not event.CONCERNS_A_CUSTOMER:
        return None
    sightings = sightings_of(event.customer)
    if not sightings:
        return None
    graph.observe(position, event_id, sightings)
    anchor = customer_key(event.customer)
    assert anchor == sightings[0].node_id  # the anchor is the strongest identifier's node, by construction
    return _updated(facts.get(anchor), anchor, recorded)


def node_ids_of(events: Iterable[RecordedEvent]) -> set[str]:
    """The identifiers (node ids) a fold of these events names: the customers of the graph it consults."""
    found: set[str] = set()
    for recorded in events:
        event = recorded.event
        payload = event.payload
        if isinstance(payload, IdentityIdentifiersLinkedPayload):
            found.update(s.node_id for s in map(payload_sighting, payload.identifiers) if s is not None)
        elif isinstance(payload, IdentityIdentifiersUnlinkedPayload):
            found.update(s.node_id for s in (payload_sighting(payload.identifier),
                                              payload_sighting(payload.from_identifier)) if s is not None)
        if event.CONCERNS_A_CUSTOMER:
            found.update(customer_id_for(identifier) for identifier in identifiers_of(event.customer))
    return found


def fold(
    graph: IdentityGraph, facts: dict[str, AnchorFacts], events: Iterable[RecordedEvent]
) -> dict[str, AnchorFacts]:
    """Apply events in order; return the facts that changed (also written into `facts`)."""
    changed: dict[str, AnchorFacts] = {}
    for recorded in events:
        updated = apply_event(graph, facts, recorded)
        if updated is not None:
            facts[updated.anchor] = changed[updated.anchor] = updated
    return changed


def _updated(known: AnchorFacts | None, anchor: str, recorded: RecordedEvent) -> AnchorFacts:
    event = recorded.event
    at = recorded.occurred_us
    contact = 1 if is_contact_event(event) else 0
    facts = AnchorFacts(anchor, at, at, 1, contact) if known is None else replace(
        known, first_us=min(known.first_us, at), last_us=max(known.last_us, at), events=known.events + 1,
        contacts=known.contacts + contact)
    payload = event.payload
    if isinstance(payload, CaseOpenedPayload) and payload.segment:
        facts = replace(facts, declared_segment=payload.segment, segment_position=recorded.position)
    if isinstance(payload, SurveyServqualAnsweredPayload) and (
        facts.survey_us is None or (at, recorded.position) >= (facts.survey_us, facts.survey_position)
    ):
        facts = replace(facts, survey_score=round(payload.overall_mean_gap, 4), survey_us=at,
                        survey_position=recorded.position)
    return facts


def _strongest_first(sightings: Sequence[Sighting]) -> list[Sighting]:
    return sorted(sightings, key=lambda s: _RANK[s.identifier.kind])


def _display(found: Identifier, customer: CustomerRef) -> str:
    if found.kind is IdentifierKind.NATIONAL_ID:
        return customer.national_id_masked or "national ID (digest)"
    return mask(found)


# -- rows (the same dictionaries in the memory and SQL stores, so their checksums agree) --------------------------


def node_row(node: Node) -> dict[str, Any]:
    return {"node_id": node.node_id, "kind": node.kind.value, "display": node.display,
            "first_position": node.first_position, "customer_id": node.customer_id,
            "verified": int(node.verified), "shared": int(node.shared)}


def node_of(row: Any) -> Node:
    return Node(row["node_id"], IdentifierKind(row["kind"]), row["display"], int(row["first_position"]),
                row["customer_id"], bool(row["verified"]), bool(row["shared"]))


def edge_of(row: Any) -> Edge:
    return Edge(row["a"], row["b"], int(row["position"]), EdgeReason(row["reason"]))


def edge_row(edge: Edge, cut_position: int | None = None) -> dict[str, Any]:
    return {"a": edge.a, "b": edge.b, "position": edge.position, "reason": edge.reason.value,
            "cut_position": cut_position}


def decision_rows(decisions: Sequence[Decision], seq_start: dict[int, int]) -> list[dict[str, Any]]:
    """Decision rows numbered within their position (`seq_start` carries numbering across batches)."""
    rows = []
    for d in decisions:
        seq = seq_start.get(d.position, 0)
        seq_start[d.position] = seq + 1
        rows.append({"position": d.position, "seq": seq, "event_id": d.event_id, "kind": d.kind.value,
                     "customer_id": d.customer_id, "others": " ".join(d.others), "node_id": d.node_id,
                     "reason": d.reason})
    return rows


def facts_row(facts: AnchorFacts) -> dict[str, Any]:
    return {"anchor": facts.anchor, "first_us": facts.first_us, "last_us": facts.last_us, "events": facts.events,
            "contacts": facts.contacts, "declared_segment": facts.declared_segment,
            "segment_position": facts.segment_position, "survey_score": facts.survey_score,
            "survey_us": facts.survey_us, "survey_position": facts.survey_position}


def facts_of(row: Any) -> AnchorFacts:
    return AnchorFacts(**{name: row[name] for name in AnchorFacts.__dataclass_fields__})


__all__ = ["TABLE_NAMES", "AnchorFacts", "Changes", "apply_event", "fold", "node_ids_of", "sightings_of"]
