"""Customers store contract: the in-memory, SQLite and Postgres stores give the same customers and checksums."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.identity.identifiers import IdentifierKind, IdentifierProtector, customer_id_for, normalise
from domain.intake import protect
from domain.log import RecordedEvent
from projections.customers.memory import MemoryCustomerStore
from projections.customers.queries import CustomerStore
from projections.customers.sql import HELD_NODES, SqlCustomerStore
from projections.sqlstore import make_engine, url_with_search_path
from tests.support.builders import call_received, recorded
from tests.unit.test_identity_graph import IDENTIFIERS, PROTECTOR, _event, at, link, unlink

pytestmark = pytest.mark.contract


def generated(seed: int, count: int = 300) -> list[RecordedEvent]:
    """A random mix of ordinary events, links and unlinks over a small set of identifiers (many collisions)."""
    rng = random.Random(seed)
    kinds = ["event"] * 6 + ["link", "unlink"]
    events = [protect(_event((rng.choice(kinds), rng.sample(range(len(IDENTIFIERS)), rng.randint(1, 3)),
                              rng.randint(0, 1)), i), PROTECTOR) for i in range(count)]
    return recorded(events)


WIDE = [("phone", f"1390013{i:04d}") for i in range(14)] + [("email", f"w{i}@example.cn") for i in range(10)] + [
    ("customer_number", f"N{i}") for i in range(6)]


def wide(seed: int, count: int = 500) -> list[RecordedEvent]:
    """Like `generated`, over many more identifiers (six people's customer numbers among them), so that a batch
    names a few customers of many, and weak identifiers are seen on several people before they are shared."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        kind = rng.choice(["event"] * 7 + ["link", "unlink"])
        chosen = [WIDE[j] for j in rng.sample(range(len(WIDE)), rng.randint(1, 3))]
        if kind == "link" and len(chosen) >= 2:
            event = link(*chosen, minutes=i, verified=rng.random() < 0.3)
        elif kind == "unlink" and len(chosen) >= 2:
            event = unlink(chosen[0], chosen[1], i)
        else:
            event = call_received(occurred_at=at(i), customer=dict(reversed(chosen)))
        events.append(protect(event, PROTECTOR))
    return recorded(events)


def story() -> list[RecordedEvent]:
    return recorded([protect(e, PROTECTOR) for e in (
        call_received(occurred_at=at(0), customer={"phone": "13800138000"}),
        call_received(occurred_at=at(1), customer={"email": "li@example.cn"}),
        link(("phone", "13800138000"), ("email", "li@example.cn"), minutes=2),
        call_received(occurred_at=at(3), customer={"national_id": "110101199003071234", "phone": "13800138000"}),
        call_received(occurred_at=at(4), customer={"customer_number": "A1", "phone": "02162880000"}),
        call_received(occurred_at=at(5), customer={"customer_number": "B1", "phone": "02162880000"}),
        unlink(("email", "li@example.cn"), ("phone", "13800138000"), minutes=6),
    )])


def node(kind: IdentifierKind, raw: str) -> str:
    return customer_id_for(normalise(kind, raw, IdentifierProtector(b"test-key")))


class CustomerStoreContract:
    @pytest.fixture
    def store(self) -> CustomerStore:
        raise NotImplementedError

    def test_the_story_resolves_as_the_reference_store_does(self, store: CustomerStore) -> None:
        events = story()
        reference = MemoryCustomerStore()
        reference.apply(events)
        assert store.apply(events) == 7
        phone = node(IdentifierKind.PHONE, "13800138000")
        assert store.resolve(node(IdentifierKind.NATIONAL_ID, "110101199003071234")) == phone
        assert store.resolve(node(IdentifierKind.EMAIL, "li@example.cn")) == node(IdentifierKind.EMAIL,
                                                                                    "li@example.cn")
        assert [n.node_id for n in store.members(phone)] == [n.node_id for n in reference.members(phone)]
        (shared,) = store.shared()
        assert shared.node_id == node(IdentifierKind.PHONE, "02162880000")
        assert set(shared.customers) == {node(IdentifierKind.CUSTOMER_NUMBER, "A1"),
                                         node(IdentifierKind.CUSTOMER_NUMBER, "B1")}
        assert store.decisions(phone) == reference.decisions(phone)
        assert store.facts([phone]) == reference.facts([phone])
        assert store.checksum() == reference.checksum()
        national, email = node(IdentifierKind.NATIONAL_ID, "110101199003071234"), node(IdentifierKind.EMAIL,
                                                                                       "li@example.cn")
        assert store.resolve_many([national, email, "no-such-node", national]) == {national: phone, email: email}

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_generated_histories_in_uneven_batches_match_the_reference(self, store: CustomerStore,
                                                                       seed: int) -> None:
        events = generated(seed)
        reference = MemoryCustomerStore()
        reference.apply(events)
        rng = random.Random(seed)
        start = 0
        while start < len(events):
            size = rng.randint(1, 40)
            store.apply(events[max(0, start - 3) : start + size])  # with redeliveries of the last few
            start += size
        assert store.position() == len(events)
        assert store.checksum() == reference.checksum()

    @pytest.mark.parametrize("seed", [4, 5, 6])
    def test_identities_followed_by_changes_equal_identities_read_afresh(self, store: CustomerStore,
                                                                          seed: int) -> None:
        """A reader that resolves node ids when it first meets them and then follows `identity_changes` holds,
        after every batch, what resolving every node afresh gives (merges, splits and shared identifiers)."""
        events = generated(seed, count=400)
        rng = random.Random(seed)
        known: dict[str, str] = {}
        at = store.position()
        start = 0
        moved = 0
        every = [node(IdentifierKind(kind), raw) for kind, raw in IDENTIFIERS]
        while start < len(events):
            size = rng.randint(1, 30)
            store.apply(events[start : start + size])
            start += size
            met = sorted(set(rng.sample(every, rng.randint(0, 3))) - known.keys())  # met in the meantime
            known.update({n: n for n in met} | store.resolve_many(met))
            at, changes = store.identity_changes(at)
            moved += sum(1 for n, c in changes.items() if n in known and known[n] != c)
            known.update({n: c for n, c in changes.items() if n in known})
            afresh = store.resolve_many(sorted(known))
            assert known == {n: afresh.get(n, n) for n in known}
        assert at == store.position() == len(events)
        assert moved > 0  # identities did move after they were met

    def test_reset_forgets_everything(self, store: CustomerStore) -> None:
        events = story()
        store.apply(events)
        store.reset()
        assert store.position() == 0 and store.members(node(IdentifierKind.PHONE, "13800138000")) == []
        store.apply(events)
        reference = MemoryCustomerStore()
        reference.apply(events)
        assert store.checksum() == reference.checksum()


class TestMemoryCustomerStore(CustomerStoreContract):
    @pytest.fixture
    def store(self) -> CustomerStore:
        return MemoryCustomerStore()


class SqlContract(CustomerStoreContract):
    engine: Engine
    held_nodes: int

    def test_a_graph_cached_by_another_process_is_reloaded_before_the_next_batch(self, store: CustomerStore) -> None:
        events = generated(7, 120)
        other = SqlCustomerStore(self.engine)  # a second projector process on the same tables
        store.apply(events[:40])
        other.apply(events[:80])
        store.apply(events[:120])  # its cache is at 40, the tables at 80: it must reload, not fold on stale state
        reference = MemoryCustomerStore()
        reference.apply(events)
        assert store.checksum() == reference.checksum()

    def test_a_batch_already_applied_elsewhere_does_not_make_a_stale_graph_current(self, store: CustomerStore) -> None:
        events = generated(9, 120)
        other = SqlCustomerStore(self.engine)
        store.apply(events[:40])
        other.apply(events[:80])
        assert store.apply(events[:60]) == 80  # nothing left to do: the tables are at 80, its graph at 40
        store.apply(events)
        reference = MemoryCustomerStore()
        reference.apply(events)
        assert store.checksum() == reference.checksum()

    def test_a_failed_batch_leaves_no_half_applied_cache(self, store: CustomerStore,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
        import projections.customers.sql as module

        events = generated(8, 60)
        store.apply(events[:30])
        real_write = module._write  # noqa: SLF001

        def write_then_fail(*args: object) -> None:
            real_write(*args)  # type: ignore[arg-type]
            raise RuntimeError("connection lost mid-batch")

        monkeypatch.setattr(module, "_write", write_then_fail)
        with pytest.raises(RuntimeError):
            store.apply(events[30:45])  # the graph folded these in memory; the transaction rolled back
        monkeypatch.setattr(module, "_write", real_write)
        assert store.position() == 30
        store.apply(events)
        reference = MemoryCustomerStore()
        reference.apply(events)
        assert store.checksum() == reference.checksum()

    @pytest.mark.parametrize("seed", [11, 12, 13])
    def test_a_wide_history_with_a_higher_shared_threshold_matches_the_reference(self, store: CustomerStore,
                                                                                 seed: int) -> None:
        """What the store loads per batch when it does not hold the whole graph (customers whole, their blocks,
        the identifiers they were seen with and those identifiers' customers) folds as the whole graph does."""
        events = wide(seed)
        at_two = SqlCustomerStore(self.engine, shared_threshold=2, held_nodes=self.held_nodes)
        reference = MemoryCustomerStore(shared_threshold=2)
        reference.apply(events)
        rng = random.Random(seed)
        start = 0
        while start < len(events):
            size = rng.randint(1, 25)
            at_two.apply(events[start : start + size])
            start += size
        assert at_two.checksum() == reference.checksum()
        kinds = {d.kind for d in reference.decisions(limit=10_000)}
        assert {"merged", "split", "shared", "refused"} <= {str(k) for k in kinds}  # every rule was exercised


HELD, HELD_IDS = [HELD_NODES, 4, 0], ["all-held", "some-held", "none-held"]
"""How much of the graph the SQL store keeps between batches: all of it here, a few identifiers (the rest loaded
per batch), or none (every batch loads the customers it names)."""


class TestSqliteCustomerStore(SqlContract):
    @pytest.fixture(params=HELD, ids=HELD_IDS)
    def store(self, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[CustomerStore]:
        self.engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
        self.held_nodes = request.param
        store = SqlCustomerStore(self.engine, held_nodes=request.param)
        store.create()
        yield store
        self.engine.dispose()


class TestPostgresCustomerStore(SqlContract):
    @pytest.fixture(params=HELD, ids=HELD_IDS)
    def store(self, postgres_url: str, pg_schema: str, request: pytest.FixtureRequest) -> Iterator[CustomerStore]:
        self.engine = make_engine(url_with_search_path(postgres_url, pg_schema))
        self.held_nodes = request.param
        store = SqlCustomerStore(self.engine, held_nodes=request.param)
        store.create()
        yield store
        self.engine.dispose()
