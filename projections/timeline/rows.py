"""Rows of the timeline read model as pure functions of the reducer's output: what the SQL store writes and both
stores' checksums hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.timeline.reducer import CaseLink, TimelineEntry, Unattributed

TABLE_NAMES = ("entries", "unattributed", "cases")  # the checksum's names of the tables, in the SQL store's order
ENTRY_COLUMNS = ("customer_id", "position", "event_id", "occurred_at", "occurred_us", "event_type", "channel",
                 "department", "site", "agent", "summary", "case_id")


def entry_row(entry: TimelineEntry) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in ENTRY_COLUMNS}
    row["occurred_at"] = entry.occurred_at.isoformat()
    return row


def entry_from_row(row: Any) -> TimelineEntry:
    values = {name: row[name] for name in ENTRY_COLUMNS}
    values["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
    return TimelineEntry(**values)


def case_link_row(link: CaseLink) -> dict[str, Any]:
    return {"case_id": link.case_id, "customer_id": link.customer_id, "position": link.position}


def unattributed_row(anomaly: Unattributed) -> dict[str, Any]:
    return {"position": anomaly.position, "event_id": anomaly.event_id, "event_type": anomaly.event_type,
            "case_id": anomaly.case_id, "reason": str(anomaly.reason)}
