"""Latency of the service-quality endpoints: p50/p99 of each `/v1/quality/*` operation over HTTP (FastAPI in
process), with the read models of a large history in Postgres.

    python -m bench.quality                                   # 100,000 customers, 1,000,000 events (long fill)
    python -m bench.quality --customers 10000 --events 100000 --samples 20
    python -m bench.quality --reuse --schema bench_quality     # measure again on an earlier fill

The history is bench.card's (calls, visits with national IDs, linked e-mails, cases opened and resolved, callback
promises, complaints, SERVQUAL answers with distinct survey ids), applied in log order by every registered store
(untimed; kept in the schema). The API process's live quality indexes are then built (timed and reported on their
own: a process's first quality answers read every fact and scorecard row once), and each endpoint asked `--samples`
times as the `ops` token, as of `NOW`. The target is p99 < 100 ms. FCR, proactive, segments, staff, touchpoints and
the scorecard are answered from the live indexes, SERVQUAL in the database (docs/quality.md). Last, each live
answer is checked to equal the one computed from all the stored rows.
"""

from __future__ import annotations

import resource
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from bench import latency
from bench.card import NOW, history
from contracts import Envelope
from domain.quality.periods import DEFAULT_ZONE, PeriodKind
from projections.registry import sql_stores
from projections.sqlstore import make_engine
from services.adapters.config import load_identity_config
from services.application.cases import CaseViews, build_case_views
from services.application.customers import CustomerViews
from services.application.quality import Quality, QualityStores, quality_stores

ENDPOINTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("servqual", {"by": "department", "period": "month"}),
    ("servqual", {"by": "segment", "period": "quarter"}),
    ("scorecard", {"period": "month"}),
    ("fcr", {}),
    ("proactive", {}),
    ("touchpoints", {}),
    ("segments", {"limit": 100}),
    ("staff", {}),
)


def quality_history(customers: int, events: int) -> Iterator[Envelope]:
    """bench.card's history, each SERVQUAL answer with a survey id of its own."""
    for event in history(customers, events, seed=20261125):
        if event.event_type == "survey.servqual_answered":
            payload = event.payload.model_copy(update={"survey_id": str(uuid.uuid4())})
            event = event.model_copy(update={"payload": payload})
        yield event


def fill(url: str, customers: int, events: int, batch: int) -> int:
    return latency.fill(url, quality_history(customers, events), batch)


def measure(url: str, samples: int) -> None:
    from services.entrypoints.app import build_app

    engine = make_engine(url, pool_size=4)
    identity = load_identity_config()
    stores: dict[str, Any] = dict(sql_stores(engine))
    case_views = build_case_views(stores["cases"], 4.0)

    class Components:
        settings = _settings()
        cases = case_views
        customers = CustomerViews(stores["customers"], stores["timeline"], stores["cases"], stores["sla"],
                                  identity.card)
        quality = quality_stores(stores, identity.card.segments)

        @staticmethod
        def clock() -> datetime:
            return NOW

    live = Components.quality.live
    if live is not None:  # the first answer of a process reads every fact once: timed on its own
        started = time.perf_counter()
        live.warm(Components.clock)
        if Components.quality.live_scorecard is not None:
            Components.quality.live_scorecard.warm(case_views.calendar_for, Components.clock)
        with live.caught_up() as index:
            took, peak = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"live quality indexes: facts up to log position {index.position:,} and the scorecard in "
                  f"{took:.1f} s, peak RSS {peak:,.0f} MB", flush=True)
    with TestClient(build_app(Components())) as client:
        headers = {"Authorization": "Bearer bench-ops-token"}
        for name, params in ENDPOINTS:
            timings = []
            for _ in range(samples):
                started = time.perf_counter()
                response = client.get(f"/v1/quality/{name}", params=params, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            latency.report(f"{name} {params}", timings, f", body {len(response.content):,} bytes")
    verify(Components.quality, case_views, stores["customers"])
    engine.dispose()


def verify(live: QualityStores, cases: CaseViews, customers: Any) -> None:
    """Each measure from the live indexes equals the one computed from all the stored rows (the previous design,
    as of `NOW`): asserted, with both times printed."""
    computed = replace(live, live=None, live_scorecard=None)
    checks: tuple[tuple[str, Callable[[Quality], object]], ...] = (
        ("scorecard", lambda q: q.scorecard(PeriodKind.MONTH, None, None, DEFAULT_ZONE, NOW, None)),
        ("fcr", lambda q: (lambda r: (r.by_department, r.by_channel, r.by_agent))(q.fcr(NOW, with_cases=False))),
        ("proactive", lambda q: q.proactive(NOW)), ("touchpoints", lambda q: q.touchpoints(NOW, 3)),
        ("segments", lambda q: q.segments(NOW)), ("staff", lambda q: q.staff(NOW)))
    for name, ask in checks:
        started = time.perf_counter()
        served = ask(Quality(live, cases, customers))
        took = time.perf_counter() - started
        started = time.perf_counter()
        assert served == ask(Quality(computed, cases, customers)), name
        print(f"{name}: the live answer equals the one computed from all rows ({took * 1000:.1f} ms vs "
              f"{time.perf_counter() - started:.1f} s)", flush=True)


def _settings() -> Any:
    from services.adapters.settings import Settings

    return Settings(env="test", bootstrap_tokens="ops=bench-ops-token", rate_limit="100000/second")


if __name__ == "__main__":
    latency.main(__doc__, "bench_quality", 20, fill, measure)
