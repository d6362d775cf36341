"""Every API operation fuzzed with schemathesis over the real stack: no server error, no undocumented status code.

The stack is the one `touchline run` wires (API, recorder, projector on the real broker and Postgres), served by
uvicorn. Each operation gets a bounded number of schema-valid and schema-invalid requests from a derandomised
Hypothesis run (fixed seed), so the test is reproducible and its cost bounded (~1-2 min on two cores).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from kafka import KafkaAdminClient
from psycopg import sql
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from services.entrypoints.app import build_app
from tests.support.pipeline import BEARER, TOKENS, pipeline_settings, running_backbone

pytestmark = pytest.mark.e2e

ADMIN = "admin-fuzz-token-000006"
HOTLINE = BEARER["hotline"]["Authorization"].removeprefix("Bearer ")
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 20}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def base_url(kafka_bootstrap: str, postgres_url: str) -> Iterator[str]:
    """The running backbone on a schema and topic of its own, with an admin token besides the test tokens."""
    name = f"fz_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn, \
            KafkaAdminClient(bootstrap_servers=kafka_bootstrap) as admin:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(name)))
        admin.create_topics({name: {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True)
        settings_ = pipeline_settings(kafka_bootstrap, postgres_url, name, name,
                                      bootstrap_tokens=f"{TOKENS},admin={ADMIN}", rate_limit="100000/second")
        try:
            with running_backbone(settings_) as stack:
                yield str(stack.client.base_url)
        finally:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))


def _fuzz(operation: Any, mode: GenerationMode, call: Callable[[Any], Any]) -> None:
    @settings(max_examples=EXAMPLES[mode], derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.validate_response(call(case), checks=CHECKS)

    run()


# Hypothesis warns of a strategy using the `random` module when the module's global state changed while it drew a
# case. The backbone under test runs in threads of this process, and its Kafka clients draw from that state too
# (jittered backoff, shuffled nodes) whenever they like: now and then during a draw, a false alarm that the
# "error" filter turned into a failure Hypothesis called unreliable (it warns once). The cases are still
# derandomised: Hypothesis draws them from its own seeded source, not from the global state.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning")
def test_no_operation_answers_a_server_error_or_an_undocumented_status(base_url: str) -> None:
    openapi = build_app_schema()
    failures: dict[str, str] = {}
    operations = [result.ok() for result in openapi.get_all_operations()]
    # Every operation as admin; publishing also as a department, whose valid events get as far as the broker.
    runs = [(op, ADMIN) for op in operations] + [(op, HOTLINE) for op in operations if op.method.upper() == "POST"
                                                 and op.path == "/v1/events"]
    for operation, token in runs:
        for mode in _modes(operation):
            try:
                _fuzz(operation, mode, lambda case, t=token: case.call(  # type: ignore[misc]
                    base_url=base_url, headers={"Authorization": f"Bearer {t}"}))
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters, no body
            except (Exception, BaseExceptionGroup) as exc:  # every operation is fuzzed; failures listed at the end
                failures[f"{operation.label} [{mode.value}, {token[:5]}]"] = _describe(exc)
    assert len(runs) >= 36
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def _modes(operation: Any) -> list[GenerationMode]:
    """Both modes, except for an operation without parameters or body: there is nothing to make invalid, and its
    "negative" cases are only repeats of a stateful call (a replay started in the background)."""
    definition = operation.definition.raw
    has_inputs = bool(definition.get("parameters")) or "requestBody" in definition
    return list(EXAMPLES) if has_inputs else [GenerationMode.POSITIVE]


def _describe(exc: BaseException) -> str:
    """The failure's kinds and the request that reproduces it (schemathesis prints a curl line); for an exception
    that is not a check's failure (Hypothesis reports one seen once as "unreliable"), its type and message."""
    inner = list(getattr(exc, "exceptions", ()))
    text = "\n".join([str(exc), *(str(each) for each in inner)])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keep = [line for line in lines if line.startswith(("- ST", "Received", "Documented", "curl", "`"))]
    raised = [f"{type(each).__module__}.{type(each).__name__}: {str(each)[:300]}" for each in inner or [exc]]
    return "\n".join([*raised, *(keep or lines[:8])])[:2000]


def build_app_schema() -> Any:
    """The OpenAPI document of the app as built (components are not needed to describe it)."""
    from types import SimpleNamespace

    from services.adapters.settings import Settings

    components = SimpleNamespace(settings=Settings(env="test", bootstrap_tokens=f"admin={ADMIN}"))
    return schemathesis.openapi.from_dict(build_app(components).openapi())
