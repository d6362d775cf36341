"""Replay: rebuild from zero into a fresh database equals live (generated log), compare, and as-of (SQLite)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from domain.log import RecordedEvent
from projections.cases.memory import MemoryCasesStore
from projections.customers.memory import MemoryCustomerStore
from projections.registry import NAMES
from projections.sla.memory import MemorySlaStore
from projections.sqlstore import make_engine, url_with_search_path
from projections.timeline.memory import MemoryTimelineStore
from projections.timeline.queries import TimelinePage
from projections.timeline.sql import entries_table
from services.adapters.databases import open_views
from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.adapters.webhooks.deliveries import DeliveryStore, deliveries_table
from services.application.asof import AsOfReplayer, NoTimeIndex
from services.application.cases import CaseViews, build_case_views
from services.application.projector.engine import ProjectionEngine
from services.application.rebuild import RebuildPlace, replay_runner, stores_on
from services.application.replay import Opened, ReplayFailed, rebuild_target, replay, replay_jobs
from services.application.replays import ReplayJobs
from services.entrypoints.app import build_app
from services.entrypoints.cli import app
from tests.support.replay_data import replay_log

pytestmark = pytest.mark.integration
runner = CliRunner()


def embedded(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    """The embedded SQLite default under tmp_path, as Settings and as the CLI's environment."""
    env = {"TOUCHLINE_DATA_DIR": str(tmp_path), "TOUCHLINE_ENV": "test", "DATABASE_URL": "",
           "TOUCHLINE_VIEWS_DATABASE_URL": ""}
    return Settings(data_dir=tmp_path, env="test", database_url="", views_database_url=""), env


def live_log(store: EventStore, views: Engine, events: int, *, append: int, batch: int) -> ProjectionEngine:
    """Append the generated log in chunks while every projection keeps up in small batches (as live)."""
    log = replay_log(events)
    engine = ProjectionEngine(store, list(stores_on(views).values()), batch_size=batch)
    for start in range(0, len(log), append):
        store.append(log[start:start + append])
        engine.catch_up()
    return engine


def delivery_log(views: Engine) -> int:
    """Rows in the webhook delivery log (one queued by hand, so a rebuild that touched it would show)."""
    DeliveryStore(views).create()
    with views.begin() as conn:
        if not conn.execute(select(func.count()).select_from(deliveries_table)).scalar_one():
            conn.execute(deliveries_table.insert().values(
                delivery_id="d-1", alert_id="a-1", event_type="sla.breached", department="loan",
                url="https://hooks.invalid/x", secret_env="HOOK", body="{}", status="delivered", attempts=1))
        return int(conn.execute(select(func.count()).select_from(deliveries_table)).scalar_one())


# The acceptance size: 100,000 events, live in batches of 500 then rebuilt from zero (about 2 minutes on the 2-core
# development machine; TOUCHLINE_REPLAY_EVENTS=12000 for a quick run).
REPLAY_EVENTS = int(os.environ.get("TOUCHLINE_REPLAY_EVENTS", "100000"))


def test_a_rebuild_from_zero_equals_live_for_every_projection_on_a_generated_log(tmp_path: Path) -> None:
    settings, _ = embedded(tmp_path)
    store, views = open_event_store(settings), open_views(settings)
    live = live_log(store, views, REPLAY_EVENTS, append=2_000, batch=500)
    live_sums = {p.name: p.checksum() for p in stores_on(views).values()}
    head, deliveries = store.head(), delivery_log(views)

    # Rebuilt in two processes, each reading the log and rebuilding two of the four projections (what
    # `touchline rebuild all --into` does on this machine for a log this long).
    rebuilt = replay_jobs(RebuildPlace(settings, f"sqlite:///{tmp_path / 'rebuilt.db'}"), list(live_sums),
                          dict.fromkeys(live_sums, head), jobs=2)

    assert head == REPLAY_EVENTS and min(p.position() for p in live.projections) == head
    assert set(live_sums) == set(NAMES)
    assert {name: r.checksum for name, r in rebuilt.items()} == live_sums
    assert {r.position for r in rebuilt.values()} == {head} and {r.events for r in rebuilt.values()} == {head}
    assert store.head() == head and delivery_log(views) == deliveries  # no event appended, no webhook queued
    store.close()
    views.dispose()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict[str, str], EventStore, Engine]]:
    """3,000 events projected live in small batches; tests leave the live read models as they found them."""
    settings, env = embedded(tmp_path_factory.mktemp("small"))
    store, views = open_event_store(settings), open_views(settings)
    live_log(store, views, 3_000, append=250, batch=100)
    yield settings, env, store, views
    store.close()
    views.dispose()


def test_rebuild_into_a_fresh_database_prints_the_live_checksums_and_leaves_live_alone(
    small: tuple[Settings, dict[str, str], EventStore, Engine], tmp_path: Path
) -> None:
    settings, env, store, views = small
    live_sums = {p.name: p.checksum() for p in stores_on(views).values()}
    head, deliveries = store.head(), delivery_log(views)

    result = runner.invoke(app, ["rebuild", "all", "--into", f"sqlite:///{tmp_path / 'fresh.db'}", "--jobs", "2"],
                           env=env)

    assert result.exit_code == 0, result.output
    for name, digest in live_sums.items():
        assert f"{name}\tposition {head}\tevents {head}\tchecksum {digest}" in result.output
    assert {p.name: p.checksum() for p in stores_on(views).values()} == live_sums
    assert store.head() == head and delivery_log(views) == deliveries
    refused = runner.invoke(app, ["rebuild", "all", "--into", settings.views_url], env=env)
    assert refused.exit_code == 2 and "live read models" in refused.output


def test_a_rebuild_in_processes_into_postgres_equals_one_in_this_process(
    small: tuple[Settings, dict[str, str], EventStore, Engine], postgres_url: str, pg_schema: str
) -> None:
    settings, _, store, views = small
    head = store.head()
    names = list(NAMES)
    target = rebuild_target(f"{postgres_url}?schema={pg_schema}")
    here = replay(store, stores_on(target))
    target.dispose()
    seen: list[tuple[int, int]] = []
    apart = replay_jobs(RebuildPlace(settings, postgres_url, f"{pg_schema}_jobs"), names, dict.fromkeys(names, head),
                        jobs=3, batch_size=500, progress=lambda at, last: seen.append((at, last)))
    admin = rebuild_target(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'drop schema "{pg_schema}_jobs" cascade')
    admin.dispose()

    assert {n: r.checksum for n, r in apart.items()} == {n: r.checksum for n, r in here.items()}
    assert {n: r.checksum for n, r in here.items()} == {
        p.name: p.checksum() for p in stores_on(views).values()}
    assert list(apart) == names and {(r.position, r.events) for r in apart.values()} == {(head, head)}
    assert seen and seen[-1] == (head, head) and [at for at, _ in seen] == sorted(at for at, _ in seen)


def test_a_checksum_noted_while_the_projector_writes_is_exactly_that_of_its_position(
    small: tuple[Settings, dict[str, str], EventStore, Engine], postgres_url: str, pg_schema: str
) -> None:
    _, _, store, _ = small
    live_views = make_engine(url_with_search_path(postgres_url, pg_schema))
    live = stores_on(live_views)
    projector = threading.Thread(target=ProjectionEngine(store, list(live.values()), batch_size=25).catch_up)
    projector.start()
    rounds: list[dict[str, tuple[int, str]]] = []
    while projector.is_alive():
        rounds.append({name: p.checksum_at() for name, p in live.items()})
    projector.join()
    live_views.dispose()

    mid_flight = [noted for noted in rounds if 0 < min(pos for pos, _ in noted.values()) < store.head()]
    assert len(mid_flight) >= 2, rounds
    # Every noted pair against the same projection folded in memory to that position (equal checksums on every
    # backend: the store contract suites).
    events = store.read(0, store.head())
    for name, fresh in (("timeline", MemoryTimelineStore), ("cases", MemoryCasesStore), ("sla", MemorySlaStore),
                        ("customers", MemoryCustomerStore)):
        folded, at = fresh(), 0
        for position, digest in sorted({noted[name] for noted in mid_flight}):
            folded.apply([e for e in events if at < e.position <= position])
            at = position
            assert folded.checksum() == digest, (name, position)


@dataclass(frozen=True)
class FailingPlace:
    """Opens like RebuildPlace, but the process rebuilding `poisoned` fails reading the log half-way through."""

    place: RebuildPlace
    poisoned: str
    killed: bool = False  # the process dies at once instead (as if killed), without a word

    def open(self, names: Sequence[str]) -> Opened:
        opened = self.place.open(names)
        if self.poisoned in names:
            read = opened.store.read

            def failing(after: int, limit: int, stop: int | None = None) -> list[RecordedEvent]:
                if after >= 1500:
                    if self.killed:
                        os._exit(137)
                    raise RuntimeError("disk full (injected)")
                return read(after, limit, stop)

            opened.store.read = failing  # type: ignore[method-assign]
        return opened


def test_a_failing_replay_process_fails_the_rebuild_naming_its_error(
    small: tuple[Settings, dict[str, str], EventStore, Engine], tmp_path: Path
) -> None:
    settings, _, store, _ = small
    names = list(NAMES)
    place = FailingPlace(RebuildPlace(settings, f"sqlite:///{tmp_path / 'failing.db'}"), "sla")
    with pytest.raises(ReplayFailed) as failed:
        replay_jobs(place, names, dict.fromkeys(names, store.head()), jobs=2, batch_size=500)
    assert "disk full (injected)" in str(failed.value) and "replay-" in str(failed.value)
    killed = FailingPlace(RebuildPlace(settings, f"sqlite:///{tmp_path / 'killed.db'}"), "cases", killed=True)
    with pytest.raises(ReplayFailed, match=r"replay process replay-\d ended without a result"):
        replay_jobs(killed, names, dict.fromkeys(names, store.head()), jobs=2, batch_size=500)


def test_the_cli_reports_a_failed_replay_process_and_exits_1(
    small: tuple[Settings, dict[str, str], EventStore, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, env, _, _ = small

    def failed(*_args: object, **_kwargs: object) -> None:
        raise ReplayFailed("replay process replay-1 failed:\nRuntimeError: [disk] full")

    monkeypatch.setattr("services.application.rebuild.replay_jobs", failed)  # rebuild
    monkeypatch.setattr("services.application.replay.replay_jobs", failed)  # compare
    for command in (["rebuild", "all", "--into", f"sqlite:///{tmp_path / 'x.db'}"], ["rebuild", "sla"],
                    ["audit", "compare"]):
        result = runner.invoke(app, command, env=env)
        assert result.exit_code == 1, (command, result.output)
        assert "rebuild failed" in result.output and "RuntimeError: [disk] full" in result.output


def test_an_in_place_rebuild_appends_nothing_and_queues_no_webhook(
    small: tuple[Settings, dict[str, str], EventStore, Engine],
) -> None:
    _, env, store, views = small
    head, deliveries = store.head(), delivery_log(views)
    live_sums = {p.name: p.checksum() for p in stores_on(views).values()}
    result = runner.invoke(app, ["rebuild", "all"], env=env)
    assert result.exit_code == 0, result.output
    assert store.head() == head and delivery_log(views) == deliveries
    in_two = runner.invoke(app, ["rebuild", "all", "--jobs", "2"], env=env)
    assert in_two.exit_code == 0, in_two.output
    for name, digest in live_sums.items():
        assert f"{name}\tposition {head}\tevents {head}\tchecksum {digest}" in in_two.output
    assert {p.name: p.checksum() for p in stores_on(views).values()} == live_sums
    unknown = runner.invoke(app, ["rebuild", "timelines"], env=env)
    assert unknown.exit_code == 2 and "unknown projection 'timelines'" in unknown.output


def test_audit_compare_exits_0_when_equal_and_1_naming_a_tampered_projection(
    small: tuple[Settings, dict[str, str], EventStore, Engine],
) -> None:
    _, env, store, views = small
    equal = runner.invoke(app, ["audit", "compare"], env=env)
    assert equal.exit_code == 0, equal.output
    assert all(f"{name}\tequal at position {store.head()}" in equal.output for name in ("timeline", "cases", "sla"))

    with views.begin() as conn:  # someone edits one read-model row behind the projector's back
        first, summary = conn.execute(select(entries_table.c.position, entries_table.c.summary).limit(1)).one()
        conn.execute(update(entries_table).where(entries_table.c.position == first).values(summary="edited"))
    tampered = runner.invoke(app, ["audit", "compare", "--jobs", "2"], env=env)
    with views.begin() as conn:
        conn.execute(update(entries_table).where(entries_table.c.position == first).values(summary=summary))

    assert tampered.exit_code == 1
    assert "timeline\tDIFFERENT" in tampered.output and "differ: timeline" in tampered.output
    assert "cases\tequal" in tampered.output and "sla\tequal" in tampered.output


def prefix_stores(store: EventStore, position: int) -> tuple[MemoryCasesStore, MemorySlaStore]:
    cases, sla = MemoryCasesStore(), MemorySlaStore()
    events = store.read(0, position)
    cases.apply(events)
    sla.apply(events)
    return cases, sla


def test_as_of_an_instant_between_two_events_is_exactly_the_state_after_the_first(
    small: tuple[Settings, dict[str, str], EventStore, Engine],
) -> None:
    _, _, store, _ = small
    recorded = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)  # event n recorded at recorded + n seconds
    index = {n: recorded + timedelta(seconds=n) for n in range(1, store.head() + 1)}

    def position_at(instant: datetime) -> int:
        return max((n for n, at in index.items() if at <= instant), default=0)

    replayer = AsOfReplayer(store, position_at)
    between = index[1234] + timedelta(milliseconds=500)  # after event 1234 was recorded, before 1235
    state = replayer.state(replayer.resolve(None, between), customer=False, case=True, now=between)
    cases, sla = prefix_stores(store, 1234)

    assert state.position == 1234 and state.now == between
    assert state.cases is not None and state.cases.checksum() == cases.checksum()
    assert state.sla is not None and state.sla.checksum() == sla.checksum()
    after_second, _ = prefix_stores(store, 1235)
    assert after_second.checksum() != cases.checksum()
    with pytest.raises(NoTimeIndex):
        AsOfReplayer(store).resolve(None, between)


def test_audit_as_of_by_position_prints_the_case_and_its_clocks(
    small: tuple[Settings, dict[str, str], EventStore, Engine],
) -> None:
    _, env, store, _ = small
    events = store.read(0, 3000)
    case_id = next(e.event.case_id for e in events[500:] if getattr(e.event, "case_id", None))
    assert case_id is not None
    opened = min(e.position for e in events if getattr(e.event, "case_id", None) == case_id)
    result = runner.invoke(app, ["audit", "as-of", "--case", case_id, "--position", str(opened)], env=env)
    assert result.exit_code == 0, result.output
    assert f'"position": {opened}' in result.output and f'"case_id": "{case_id}"' in result.output
    before = runner.invoke(app, ["audit", "as-of", "--case", case_id, "--position", str(opened - 1)], env=env)
    assert before.exit_code == 0 and '"case": null' in before.output


@dataclass
class AsOfComponents:
    """What the as-of endpoint reads: settings (tokens), the event store, the case views, an optional index."""

    event_store: EventStore
    cases: CaseViews
    settings: Settings = field(default_factory=lambda: Settings(env="test", bootstrap_tokens=AUDIT_TOKENS))
    position_at: Callable[[datetime], int] | None = None


AUDIT_TOKENS = "auditor=auditor-token-000001,admin=admin-token-0000001,ops=ops-token-00000001,loan=loan-token-0000001"
AUDIT_BEARER = {name: {"Authorization": f"Bearer {token}"} for name, token in
                (item.split("=") for item in AUDIT_TOKENS.split(","))}


def test_the_as_of_endpoint_answers_auditors_and_admins_only(
    small: tuple[Settings, dict[str, str], EventStore, Engine],
) -> None:
    settings, _, store, views = small
    events = store.read(0, 3000)
    case_id = next(e.event.case_id for e in events[1000:] if getattr(e.event, "case_id", None))
    assert case_id is not None
    customer = next(e.entries[0].customer_id for e in [_timeline_of(store, 800)] if e.entries)
    components = AsOfComponents(store, build_case_views(MemoryCasesStore(), 4.0))
    client = TestClient(build_app(components))
    query: dict[str, str | int] = {"case_id": case_id, "position": 2000}

    for name in ("ops", "loan"):
        assert client.get("/v1/audit/as-of", params=query, headers=AUDIT_BEARER[name]).status_code == 403
    assert client.get("/v1/audit/as-of", params=query).status_code == 401
    body = client.get("/v1/audit/as-of", params=query, headers=AUDIT_BEARER["auditor"]).json()
    cases, _ = prefix_stores(store, 2000)
    expected = cases.case(case_id)
    assert body["position"] == 2000 and expected is not None
    assert body["case"]["case_id"] == case_id and body["case"]["status"] == expected.status.value
    assert body["sla"] is None or body["sla"]["case_id"] == case_id
    timeline = client.get("/v1/audit/as-of", params={"customer_id": customer, "position": 800},
                          headers=AUDIT_BEARER["admin"]).json()["timeline"]
    assert [e["position"] for e in timeline["entries"]] == [e.position for e in _timeline_of(store, 800).entries]
    by_time = client.get("/v1/audit/as-of", params={"case_id": case_id, "at": "2026-11-03T10:00:00+00:00"},
                         headers=AUDIT_BEARER["auditor"])
    assert by_time.status_code == 501 and "position" in by_time.json()["detail"]
    both = client.get("/v1/audit/as-of", params={"case_id": case_id}, headers=AUDIT_BEARER["auditor"])
    assert both.status_code == 422


@dataclass
class ReplayComponents:
    """What the replay endpoints read: settings (tokens) and the replay jobs."""

    replays: ReplayJobs
    settings: Settings = field(default_factory=lambda: Settings(env="test", bootstrap_tokens=AUDIT_TOKENS))


def test_auditors_replay_over_http_and_see_every_projection_equal_then_a_tampered_one(
    small: tuple[Settings, dict[str, str], EventStore, Engine],
) -> None:
    settings, _, store, views = small
    jobs = ReplayJobs(replay_runner(settings, store))
    client = TestClient(build_app(ReplayComponents(jobs)))
    live = {p.name: p.checksum() for p in stores_on(views).values()}

    for name in ("ops", "loan"):
        assert client.post("/v1/audit/replays", headers=AUDIT_BEARER[name]).status_code == 403
    assert client.post("/v1/audit/replays").status_code == 401
    started = client.post("/v1/audit/replays", headers=AUDIT_BEARER["auditor"])
    assert started.status_code == 202 and started.json()["status"] == "running"
    replay_id = started.json()["replay_id"]
    assert started.headers["location"] == f"/v1/audit/replays/{replay_id}"
    jobs.join(replay_id, 120)
    body = client.get(f"/v1/audit/replays/{replay_id}", headers=AUDIT_BEARER["admin"]).json()
    assert body["status"] == "equal" and body["differing"] == [] and body["requested_by"] == "auditor"
    assert {p["name"]: p["rebuilt_checksum"] for p in body["projections"]} == live
    assert {(p["live_position"], p["rebuilt_position"]) for p in body["projections"]} == {(store.head(),) * 2}
    assert body["position"] == body["last"] == store.head() and body["finished_at"] is not None
    assert client.get(f"/v1/audit/replays/{replay_id}", headers=AUDIT_BEARER["ops"]).status_code == 403
    assert client.get("/v1/audit/replays/nope", headers=AUDIT_BEARER["auditor"]).status_code == 404

    with views.begin() as conn:  # a read-model row edited behind the projector's back
        first, summary = conn.execute(select(entries_table.c.position, entries_table.c.summary).limit(1)).one()
        conn.execute(update(entries_table).where(entries_table.c.position == first).values(summary="edited"))
    try:
        second = client.post("/v1/audit/replays", headers=AUDIT_BEARER["admin"]).json()["replay_id"]
        jobs.join(second, 120)
    finally:
        with views.begin() as conn:
            conn.execute(update(entries_table).where(entries_table.c.position == first).values(summary=summary))
    listed = client.get("/v1/audit/replays", headers=AUDIT_BEARER["auditor"]).json()
    assert [(r["replay_id"], r["status"], r["differing"]) for r in listed] == [
        (second, "different", ["timeline"]), (replay_id, "equal", [])]


def _timeline_of(store: EventStore, position: int) -> TimelinePage:
    """The first page of the timeline of the customer of event `position`, folded from the prefix."""
    timeline = MemoryTimelineStore()
    timeline.apply(store.read(0, position))
    customer = next(iter(timeline._entries))  # noqa: SLF001 - any customer seen so far
    return timeline.page(customer)
