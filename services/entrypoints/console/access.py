"""What each console page shows is what the JSON API lets the same token read: pages map to its operation ids."""

from __future__ import annotations

from enum import StrEnum

from services.entrypoints.api.auth import Principal
from services.entrypoints.api.permissions import MATRIX


class Page(StrEnum):
    CUSTOMERS = "customers"
    CASES = "cases"
    HANDOFFS = "handoffs"
    ALERTS = "alerts"
    INBOX = "inbox"
    SHARED = "shared"
    QUALITY = "quality"
    AUDIT = "audit"


READS: dict[Page, tuple[str, ...]] = {
    Page.CUSTOMERS: ("lookup_customer", "customer_card", "customer_timeline"),
    Page.CASES: ("case_board", "case_view", "explain_case_sla"),
    Page.HANDOFFS: ("handoff_matrix", "dropped_handoffs", "ping_pong"),
    Page.ALERTS: ("list_alerts",),
    Page.INBOX: ("department_inbox",),
    Page.SHARED: ("shared_identifiers",),
    Page.QUALITY: ("quality_servqual", "quality_scorecard", "quality_fcr", "quality_proactive", "quality_touchpoints",
                   "quality_segments", "quality_staff"),
    Page.AUDIT: ("list_audit_checkpoints", "audit_verify", "list_audit_replays"),
}
"""The API operations whose data a page shows: a token sees the page when it may call all of them."""

ACKNOWLEDGE = "acknowledge_alert"
START_REPLAY = "start_audit_replay"


def may(principal: Principal, operation: str) -> bool:
    """The permission matrix's answer for the token's kind (its department scope is applied by the reads)."""
    return MATRIX[operation].allows(principal.kind)


def may_see(principal: Principal, page: Page) -> bool:
    """Every operation the page reads is allowed; the inbox is a department's own (role tokens have none)."""
    if page is Page.INBOX and principal.department is None:
        return False
    return all(may(principal, operation) for operation in READS[page])


def pages_for(principal: Principal) -> list[Page]:
    """The navigation of this token, in menu order."""
    return [page for page in Page if may_see(principal, page)]
