"""Customer views for the API: resolve a customer id to the anchors it covers, and gather its context card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.cases import CaseStatus
from domain.identity.identifiers import Identifier, customer_id_for
from domain.sla.ledger import Promise
from projections.cases import CaseQuery
from projections.cases.queries import CasesStore
from projections.customers.card import Card, CardSettings, build_card
from projections.customers.queries import CustomerStore
from projections.sla.queries import AlertQuery, PromiseQuery
from projections.sla.reducer import Alert, AlertState
from projections.sla.sql import SqlSlaStore
from projections.timeline.queries import TimelineStore

_YEAR = timedelta(days=365)
_OPEN = (CaseStatus.OPEN.value, CaseStatus.WAITING_ON_CUSTOMER.value)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A customer as the API shows it: its id now and the anchors (stored keys) it covers."""

    customer_id: str
    anchors: tuple[str, ...]
    shared: bool = False


def anchors_for(views: CustomerViews | None, customer_id: str) -> tuple[str, ...]:
    """The stored ids a customer filter must match: the anchors of the resolved customer (the id itself without
    identity views, or when the customer is unknown: the filter then finds nothing)."""
    resolved = views.resolve(customer_id) if views is not None else None
    return resolved.anchors if resolved is not None else (customer_id,)


@dataclass
class CustomerViews:
    directory: CustomerStore
    timeline: TimelineStore
    cases: CasesStore
    sla: SqlSlaStore | None
    card_settings: CardSettings

    def resolve_identifier(self, identifier: Identifier) -> Resolved | None:
        """The customer an identifier belongs to now (None if never seen)."""
        customer_id = self.directory.resolve(customer_id_for(identifier))
        return self.resolve(customer_id) if customer_id is not None else None

    def resolve(self, customer_id: str) -> Resolved | None:
        """A customer id as given: a resolved id, or an earlier id that was merged away (followed to its
        customer now). None when the identity graph does not know it."""
        members = self.directory.members(customer_id)
        if members:
            return Resolved(customer_id, tuple(m.node_id for m in members), all(m.shared for m in members))
        now_id = self.directory.resolve(customer_id)
        if now_id is not None and now_id != customer_id:
            return self.resolve(now_id)
        return None

    def touched_by(self, resolved: Resolved, department: str) -> bool:
        """Some timeline entry of the customer (under any of its anchors) comes from `department`: a department
        token sees the customers it has dealt with."""
        return bool(self.timeline.page(resolved.anchors, department=department, limit=1).entries)

    def visible_to(self, resolved: Resolved | None, department: str | None) -> bool:
        """A known customer, and either no department scope or one that touched it."""
        return resolved is not None and (department is None or self.touched_by(resolved, department))

    def card(self, resolved: Resolved, now: datetime) -> Card:
        anchors = list(resolved.anchors)
        open_cases = list(self.cases.cases(CaseQuery(customer_ids=resolved.anchors, statuses=_OPEN, limit=50)).cases)
        promises: list[Promise] = []
        alerts: list[Alert] = []
        if self.sla is not None:
            promises.extend(self.sla.promises(PromiseQuery(customer_ids=resolved.anchors, limit=50), now))
            for case in open_cases:
                alerts.extend(self.sla.alerts(AlertQuery(state=AlertState.OPEN, case_id=case.case_id, limit=20)))
        return build_card(
            resolved.customer_id, now, self.card_settings,
            members=self.directory.members(resolved.customer_id),
            facts=self.directory.facts(anchors),
            recent=self.timeline.recent(anchors, self.card_settings.recent_interactions),
            year=self.timeline.activity(anchors, now - _YEAR),
            open_cases=open_cases, promises=promises, open_alerts=alerts,
        )
