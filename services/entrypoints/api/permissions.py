"""The permission matrix: which principals may call each route, and how department tokens are scoped.

This table is the only place permissions are declared. `services.entrypoints.api.auth.authenticate` enforces it
for every route (by the route's operation id), `check_routes` refuses to build an app with a route missing from it, and
docs/security.md holds its rendering (`render_markdown`; a test keeps the two equal). The scope rules themselves
are applied where the data is read (see `Scope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a token stands for (see services.entrypoints.api.auth.Principal)."""

    DEPARTMENT = "department"  # a department's staff: `hotline=...`
    MANAGER = "manager"  # a department's manager: `hotline-manager=...`
    OPS = "ops"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Scope(StrEnum):
    """How a route limits department and manager tokens (ops, auditor and admin are never limited)."""

    NONE = "not limited"
    OWN_DEPARTMENT = "own department"
    CUSTOMERS_TOUCHED = "customers touched"
    CASES_INVOLVED = "cases involved"
    DEPARTMENT_ROWS = "own department's rows"
    QUALITY_ROWS = "own department's measures"


SCOPE_MEANING = {
    Scope.NONE: "Not limited.",
    Scope.OWN_DEPARTMENT: "Only the token's own department (the path's department, or `source.department` of "
                          "every published event); another department is 403.",
    Scope.CUSTOMERS_TOUCHED: "Only customers with at least one timeline entry from the token's department (any of "
                             "the identifiers linked to the customer); others are 404, as if unknown. Summaries of "
                             "other departments' entries, subjects of cases the department is not involved in and "
                             "reasons of other departments' promises read `[masked: <department> note]`.",
    Scope.CASES_INVOLVED: "Only cases the department opened, holds, held, handed off or was handed (pending, "
                          "accepted or not); lists leave the others out, a case outside is 404.",
    Scope.DEPARTMENT_ROWS: "Lists and aggregates keep only the department's rows: alerts and promises of the "
                           "department, handoffs from or to it, repeat contacts it received or held, anomalies of "
                           "cases it is involved in; one alert of another department is 404.",
    Scope.QUALITY_ROWS: "Service-quality measures of the department only: SERVQUAL surveys attributed to it, its "
                        "scorecard rows, FCR of the cases it opened, its touchpoints, its own and its agents' "
                        "staff rows, and proactive and segment lists of customers with a contact it recorded.",
}

STAFF = frozenset({Kind.DEPARTMENT, Kind.MANAGER})
READERS = frozenset(Kind)
ROLES_READING = frozenset({Kind.OPS, Kind.AUDITOR, Kind.ADMIN})
AUDIT = frozenset({Kind.AUDITOR, Kind.ADMIN})
SUPERVISORS = frozenset({Kind.OPS, Kind.ADMIN})
QUALITY_READERS = frozenset({Kind.MANAGER, Kind.OPS, Kind.AUDITOR, Kind.ADMIN})


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may call a route (`kinds`; None: public, no token needed) and how department tokens are scoped."""

    kinds: frozenset[Kind] | None
    scope: Scope = Scope.NONE

    def allows(self, kind: Kind) -> bool:
        return self.kinds is None or kind in self.kinds


PUBLIC = Rule(None)

MATRIX: dict[str, Rule] = {
    # ingest
    "publish_events": Rule(STAFF, Scope.OWN_DEPARTMENT),
    # customers
    "find_customer": Rule(READERS, Scope.CUSTOMERS_TOUCHED),
    "lookup_customer": Rule(READERS, Scope.CUSTOMERS_TOUCHED),
    "customer_timeline": Rule(READERS, Scope.CUSTOMERS_TOUCHED),
    "customer_card": Rule(READERS, Scope.CUSTOMERS_TOUCHED),
    "customer_identity": Rule(READERS, Scope.CUSTOMERS_TOUCHED),
    "shared_identifiers": Rule(ROLES_READING),
    # cases, inbox, handoffs
    "case_board": Rule(READERS, Scope.CASES_INVOLVED),
    "case_view": Rule(READERS, Scope.CASES_INVOLVED),
    "explain_case_sla": Rule(READERS, Scope.CASES_INVOLVED),
    "repeat_contacts": Rule(READERS, Scope.DEPARTMENT_ROWS),
    "case_anomalies": Rule(READERS, Scope.DEPARTMENT_ROWS),
    "department_inbox": Rule(READERS, Scope.OWN_DEPARTMENT),
    "handoff_matrix": Rule(READERS, Scope.DEPARTMENT_ROWS),
    "dropped_handoffs": Rule(READERS, Scope.DEPARTMENT_ROWS),
    "ping_pong": Rule(READERS, Scope.DEPARTMENT_ROWS),
    # SLA
    "list_sla_policies": Rule(READERS),
    "get_sla_policy": Rule(READERS),
    "publish_sla_policy": Rule(SUPERVISORS),
    "list_alerts": Rule(READERS, Scope.DEPARTMENT_ROWS),
    "get_alert": Rule(READERS, Scope.DEPARTMENT_ROWS),
    "acknowledge_alert": Rule(frozenset({Kind.MANAGER, Kind.OPS, Kind.ADMIN}), Scope.DEPARTMENT_ROWS),
    "list_promises": Rule(READERS, Scope.DEPARTMENT_ROWS),
    "promise_ledger": Rule(READERS, Scope.DEPARTMENT_ROWS),
    # service quality (managers: their department's measures; staff tokens: none)
    "quality_servqual": Rule(QUALITY_READERS, Scope.QUALITY_ROWS),
    "quality_scorecard": Rule(QUALITY_READERS, Scope.QUALITY_ROWS),
    "quality_fcr": Rule(QUALITY_READERS, Scope.QUALITY_ROWS),
    "quality_proactive": Rule(QUALITY_READERS, Scope.QUALITY_ROWS),
    "quality_touchpoints": Rule(QUALITY_READERS, Scope.QUALITY_ROWS),
    "quality_segments": Rule(QUALITY_READERS, Scope.QUALITY_ROWS),
    "quality_staff": Rule(QUALITY_READERS, Scope.QUALITY_ROWS),
    # audit and privacy
    "audit_public_key": PUBLIC,
    "list_audit_checkpoints": Rule(AUDIT),
    "audit_inclusion_proof": Rule(AUDIT),
    "audit_consistency_proof": Rule(AUDIT),
    "audit_verify": Rule(AUDIT),
    "audit_export_customer": Rule(AUDIT),
    "audit_as_of": Rule(AUDIT),
    "start_audit_replay": Rule(AUDIT),
    "list_audit_replays": Rule(AUDIT),
    "get_audit_replay": Rule(AUDIT),
    "erase_customer": Rule(frozenset({Kind.ADMIN})),
    # parked projection failures
    "list_projection_failures": Rule(ROLES_READING),
    "retry_projection_failure": Rule(SUPERVISORS),
    # operations and the API's own documentation
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "metrics": PUBLIC,
    "openapi": PUBLIC,
    "swagger_ui_html": PUBLIC,
    "swagger_ui_redirect": PUBLIC,
    "redoc_html": PUBLIC,
}


class UnlistedRoute(RuntimeError):
    """A route of the app has no entry in MATRIX (or its entry disagrees with its authentication)."""


def route_key(route: Any) -> str:
    """A route's key in MATRIX: its operation id, else its name (FastAPI's own documentation routes)."""
    return str(getattr(route, "operation_id", None) or route.name)


def rule_for(route: Any) -> Rule | None:
    return MATRIX.get(route_key(route)) if route is not None else None


def check_routes(routes: Iterable[Any], authenticates: Any) -> None:
    """Every route is listed; public routes ask for no token and the others do (`authenticates` is the
    dependency that reads the token)."""
    for route in routes:
        rule = rule_for(route)
        if rule is None:
            raise UnlistedRoute(f"route {route_key(route)} ({route.path}) is missing from the permission matrix")
        dependant = getattr(route, "dependant", None)
        if dependant is not None and _depends_on(dependant, authenticates) == (rule.kinds is None):
            raise UnlistedRoute(f"route {route_key(route)}: its authentication disagrees with the matrix")


def _depends_on(dependant: Any, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def masked(department: str) -> str:
    """What a department token reads instead of another department's free text."""
    return f"[masked: {department} note]"


def shown(viewer: str | None, department: str, text: str) -> str:
    """`text` written by `department`, as `viewer` may read it (None: an unscoped role token reads it all)."""
    return text if viewer is None or viewer == department else masked(department)


def render_scopes() -> str:
    """What each department scope means, as a Markdown list."""
    return "".join(f"- **{scope.value}**: {SCOPE_MEANING[scope]}\n" for scope in Scope)


COLUMNS = (Kind.DEPARTMENT, Kind.MANAGER, Kind.OPS, Kind.AUDITOR, Kind.ADMIN)


def render_markdown(routes: Iterable[Any]) -> str:
    """The matrix as a Markdown table, one row per route (method, path, operation), in `routes` order."""
    header = ["Method", "Path", "Operation", *[k.value for k in COLUMNS], "Department scope"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for route in routes:
        rule = MATRIX[route_key(route)]
        methods = ", ".join(sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}))
        cells = ["public" if rule.kinds is None else ("yes" if k in rule.kinds else "—") for k in COLUMNS]
        scope = rule.scope.value if rule.kinds is not None and rule.kinds & STAFF else "—"
        lines.append(f"| {methods} | `{route.path}` | `{route_key(route)}` | " + " | ".join(cells) + f" | {scope} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- matrix:begin -->\n", "<!-- matrix:end -->"


def with_table(document: str, table: str) -> str:
    """`document` with the text between its matrix markers replaced by `table`."""
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}{table}{END}{tail}"
