"""Every projection, registered once: its name, how to build its in-memory and SQL stores, and which other
projections its readers consult. The projector, rebuilds, replays and checksums, as-of and the benchmarks all
build their stores from here, so adding a projection is its own folder and one line in `PROJECTIONS`
(docs/architecture.md, "Adding a projection").

Projections are applied independently of one another (each folds the log alone, from its own position); a
projection `consults` others only when its readers do: a customer's timeline is read through identity resolution
(`customers`), a case's handoff target comes from the SLA policies (`sla`), and the contact-quality measures
resolve customers and read handoff targets the same way (docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from domain.identity.graph import DEFAULT_SHARED_THRESHOLD
from projections.cases.memory import MemoryCasesStore
from projections.cases.queries import NAME as CASES
from projections.cases.sql import SqlCasesStore
from projections.contacts.memory import MemoryContactsStore
from projections.contacts.queries import NAME as CONTACTS
from projections.contacts.sql import SqlContactsStore
from projections.customers.memory import MemoryCustomerStore
from projections.customers.queries import NAME as CUSTOMERS
from projections.customers.sql import SqlCustomerStore
from projections.protocol import MemoryProjection
from projections.scorecard.memory import MemoryScorecardStore
from projections.scorecard.queries import NAME as SCORECARD
from projections.scorecard.sql import SqlScorecardStore
from projections.servqual.memory import MemoryServqualStore
from projections.servqual.queries import NAME as SERVQUAL
from projections.servqual.sql import SqlServqualStore
from projections.sla.memory import MemorySlaStore
from projections.sla.queries import NAME as SLA
from projections.sla.sql import SqlSlaStore
from projections.sqlstore import SqlProjection
from projections.timeline.memory import MemoryTimelineStore
from projections.timeline.queries import NAME as TIMELINE
from projections.timeline.sql import SqlTimelineStore


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Settings some projections' rules take (from configuration); the defaults are the rules' own."""

    shared_threshold: int = DEFAULT_SHARED_THRESHOLD  # identity resolution: customers before an identifier is shared


@dataclass(frozen=True, slots=True)
class Projection:
    """One projection: `memory` builds the reference store (tests, as-of), `sql` the store on a read-model
    database; both fold the same reducer and give equal checksums for equal content."""

    name: str
    memory: Callable[[StoreOptions], MemoryProjection]
    sql: Callable[[Engine, StoreOptions], SqlProjection]
    consults: tuple[str, ...] = ()


PROJECTIONS: tuple[Projection, ...] = (
    Projection(TIMELINE, lambda _: MemoryTimelineStore(), lambda views, _: SqlTimelineStore(views), (CUSTOMERS,)),
    Projection(CASES, lambda _: MemoryCasesStore(), lambda views, _: SqlCasesStore(views), (SLA,)),
    Projection(SLA, lambda _: MemorySlaStore(), lambda views, _: SqlSlaStore(views)),
    Projection(CUSTOMERS, lambda o: MemoryCustomerStore(o.shared_threshold),
               lambda views, o: SqlCustomerStore(views, o.shared_threshold)),
    Projection(SERVQUAL, lambda _: MemoryServqualStore(), lambda views, _: SqlServqualStore(views)),
    Projection(SCORECARD, lambda _: MemoryScorecardStore(), lambda views, _: SqlScorecardStore(views)),
    Projection(CONTACTS, lambda _: MemoryContactsStore(), lambda views, _: SqlContactsStore(views), (CUSTOMERS, SLA)),
)

NAMES: tuple[str, ...] = tuple(p.name for p in PROJECTIONS)


class UnknownProjection(KeyError):
    """A name no projection is registered under."""


def projection(name: str) -> Projection:
    """The projection registered under `name`; UnknownProjection otherwise."""
    for found in PROJECTIONS:
        if found.name == name:
            return found
    raise UnknownProjection(f"unknown projection {name!r}; known: {', '.join(NAMES)}")


def sql_stores(views: Engine, options: StoreOptions = StoreOptions(),
               names: Iterable[str] | None = None) -> dict[str, SqlProjection]:
    """The SQL stores on `views` by name, every projection's or those `names` (in registry order); nothing created."""
    return {p.name: p.sql(views, options) for p in _chosen(names)}


def memory_stores(options: StoreOptions = StoreOptions(),
                  names: Iterable[str] | None = None) -> dict[str, MemoryProjection]:
    """Empty in-memory stores by name, every projection's or those `names` (in registry order)."""
    return {p.name: p.memory(options) for p in _chosen(names)}


def with_consulted(names: Iterable[str]) -> list[str]:
    """`names` and every projection their readers consult (transitively), in registry order."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(projection(name).consults)
    return [name for name in NAMES if name in wanted]


def _chosen(names: Iterable[str] | None) -> list[Projection]:
    if names is None:
        return list(PROJECTIONS)
    wanted = set(names)
    for name in wanted:
        projection(name)
    return [p for p in PROJECTIONS if p.name in wanted]
