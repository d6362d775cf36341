"""Timeline summaries in the viewer's language: the contracts' English line (`Envelope.summary()`, the only form the
timeline keeps) matched against the known shapes of its event type and written again from the catalogue
(`summary.<event type>[.<variant>]`); a line of no known shape is shown as recorded.

Free text written by people (subjects, reasons, notes) is carried over as it was recorded; named values
(departments, case types, priorities, outcomes, ...) are translated with the catalogue's labels. A unit test keeps
every shape matching what the contracts write today, so a changed English line shows up there, not in a browser."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.entrypoints.console.i18n import Locale

Shape = tuple[str, re.Pattern[str]]
"""A catalogue variant ('' for `summary.<type>`, else `summary.<type>.<variant>`) and the English line's pattern."""


def _shapes(*pairs: tuple[str, str]) -> tuple[Shape, ...]:
    return tuple((variant, re.compile(pattern, re.DOTALL)) for variant, pattern in pairs)


DEPARTMENT = r"(?P<{}>\S+)"
TEXT = r"(?P<text>.*)"
WHEN = r"(?P<{}>[0-9-]+ [0-9:]+ [+-][0-9:]+)"
SHAPES: dict[str, tuple[Shape, ...]] = {
    "case.opened": _shapes(("", r"(?P<case_type>\w+) case opened \((?P<priority>\w+)\): " + TEXT)),
    "case.note_added": _shapes(("", r"(?P<visibility>Internal|Customer) note: " + TEXT)),
    "case.handed_off": _shapes(("", "Handed off from " + DEPARTMENT.format("source") + " to "
                                + DEPARTMENT.format("target") + ": " + TEXT)),
    "case.handoff_accepted": _shapes(("", "Handoff accepted by " + DEPARTMENT.format("department"))),
    "case.waiting_on_customer": _shapes(("", "Waiting on customer: " + TEXT)),
    "case.customer_responded": _shapes(("note", "Customer responded: " + TEXT), ("", "Customer responded")),
    "case.escalated": _shapes(("level", r"Escalated from (?P<source_type>\w+) to (?P<case_type>\w+), level "
                                        r"(?P<level>\d+): " + TEXT),
                              ("", r"Escalated from (?P<source_type>\w+) to (?P<case_type>\w+): " + TEXT)),
    "case.resolved": _shapes(("fcr", "Resolved on first contact: " + TEXT), ("", "Resolved: " + TEXT)),
    "case.reopened": _shapes(("", "Reopened: " + TEXT)),
    "frontdesk.visit_checked_in": _shapes(("host", r"Visitor checked in \(for " + DEPARTMENT.format("department")
                                           + r"\): " + TEXT), ("", "Visitor checked in: " + TEXT)),
    "frontdesk.visit_checked_out": _shapes(("outcome", "Visitor checked out: " + TEXT), ("", "Visitor checked out")),
    "call.received": _shapes(("queue", r"(?P<direction>Inbound|Outbound) call answered by (?P<answerer>the IVR|an "
                                       r"agent) in queue (?P<queue>.+)"),
                             ("", r"(?P<direction>Inbound|Outbound) call answered by (?P<answerer>the IVR|an agent)")),
    "call.ended": _shapes(("to", r"Call ended after (?P<duration>[0-9hms ]+): (?P<call_outcome>[a-z ]+?) to "
                                 r"(?P<department>\S+)(?P<ivr> \(IVR to agent\))?"),
                          ("", r"Call ended after (?P<duration>[0-9hms ]+): (?P<call_outcome>[a-z ]+?)"
                               r"(?P<ivr> \(IVR to agent\))?")),
    "callback.promised": _shapes(("", r"Callback promised by (?P<due>[0-9-]+ [0-9:]+ [+-][0-9:]+): " + TEXT)),
    "callback.made": _shapes(("", r"Callback (?P<promise>\S+) made: (?P<callback_outcome>[a-z ]+)")),
    "complaint.filed": _shapes(("", r"(?P<severity>Low|Medium|High)-severity (?P<form>written|verbal) complaint "
                                    r"\((?P<category>[^)]*)\): " + TEXT)),
    "compliment.received": _shapes(("about", r"Compliment about (?P<agent>.+?): " + TEXT),
                                   ("", "Compliment: " + TEXT)),
    "referral.made": _shapes(("party", r"Referral made \((?P<party>[^)]*)\): " + TEXT), ("", "Referral made: " + TEXT)),
    "web.request_submitted": _shapes(("", r"Web request via (?P<form>\S+): " + TEXT)),
    "repair.order_opened": _shapes(("product", r"Repair order (?P<order>\S+) opened for (?P<product>.+?): " + TEXT),
                                   ("", r"Repair order (?P<order>\S+) opened: " + TEXT)),
    "repair.visit_completed": _shapes(("notes", r"Repair visit for (?P<order>\S+) completed, "
                                                r"(?P<repair_outcome>[a-z ]+): " + TEXT),
                                      ("", r"Repair visit for (?P<order>\S+) completed, (?P<repair_outcome>[a-z ]+)")),
    "repair.visit_scheduled": _shapes(("window", r"Repair visit for (?P<order>\S+) scheduled for " + WHEN.format("at")
                                                 + r" \(\+(?P<minutes>\d+) min window\)"),
                                      ("", r"Repair visit for (?P<order>\S+) scheduled for " + WHEN.format("at"))),
    "sla.warning_raised": _shapes(("", r"Warning: SLA (?P<metric>[a-z ]+) at (?P<percent>\d+)% for "
                                       + DEPARTMENT.format("department") + ", deadline " + WHEN.format("deadline"))),
    "sla.breached": _shapes(("", r"Breached: (?P<metric>[a-z ]+) target (?P<target_time>[0-9hms ]+) \((?P<basis>\w+)\) "
                                 r"for " + DEPARTMENT.format("department") + r", escalated to (?P<role>\S+)")),
    "sla.alert_acknowledged": _shapes(("note", "SLA alert acknowledged by (?P<by>.+?): " + TEXT),
                                      ("", "SLA alert acknowledged by (?P<by>.+)")),
    "sla.alert_retracted": _shapes(("", r"SLA (?P<metric>[a-z ]+) alert at (?P<percent>\d+)% retracted for "
                                        + DEPARTMENT.format("department") + ": " + TEXT)),
    "sla.calendar_gap": _shapes(("", r"SLA calendar gap: (?P<calendar>\S+) has no holidays for (?P<year>\d+) "
                                     r"\(covers (?P<covered>[^)]*)\); (?P<metric>[a-z ]+) clock of "
                                     + DEPARTMENT.format("department") + " cannot be counted")),
    "identity.identifiers_linked": _shapes(("", r"Linked (?P<kinds>[a-z_, ]+) \((?P<verified>verified|unverified)\): "
                                                + TEXT)),
    "identity.identifiers_unlinked": _shapes(("", r"Unlinked (?P<kind>[a-z_]+) from (?P<from_kind>[a-z_]+): " + TEXT)),
    "survey.servqual_answered": _shapes(("", r"SERVQUAL survey answered: (?P<items>\d+) items, overall gap "
                                             r"(?P<gap>[+-][0-9.]+)")),
    "sale.order_placed": _shapes(("", r"Order (?P<order>\S+) placed: (?P<units>\d+) unit\(s\), "
                                      r"(?P<amount>[0-9.]+) (?P<currency>[A-Z]{3})")),
}
LABELLED = {"source": "department", "target": "department", "department": "department",
            "case_type": "case_type", "source_type": "case_type", "priority": "priority",
            "visibility": "visibility", "direction": "call_direction", "answerer": "call_answerer",
            "call_outcome": "call_outcome", "callback_outcome": "callback_outcome", "repair_outcome": "repair_outcome",
            "severity": "severity_level", "form": "complaint_form", "metric": "metric", "basis": "basis",
            "kind": "identifier", "from_kind": "identifier"}
"""Groups whose value is a name translated with the catalogue's labels (`<prefix>.<value>`, lower case, spaces as
underscores, no article); the other groups are carried over as recorded."""
PARTS = ("ivr",)
"""Optional groups written as the catalogue's `summary.part.<group>` when present (nothing when absent)."""


def localised(locale: Locale, event_type: str, summary: str) -> str:
    """The summary in the locale's language, or as recorded when its shape is not known."""
    shape = shape_of(event_type, summary)
    if shape is None:
        return summary
    variant, found = shape
    return locale.t(f"summary.{event_type}" + (f".{variant}" if variant else ""), **_values(locale, found))


def shape_of(event_type: str, summary: str) -> tuple[str, re.Match[str]] | None:
    """The first known shape the English line has (its variant and match), if any."""
    for variant, pattern in SHAPES.get(event_type, ()):
        found = pattern.fullmatch(summary)
        if found is not None:
            return variant, found
    return None


def _values(locale: Locale, found: re.Match[str]) -> dict[str, str]:
    values = {}
    for name, value in found.groupdict().items():
        if name in PARTS and value is not None:
            value = locale.t(f"summary.part.{name}")
        elif name in LABELLED and value is not None:
            value = locale.label(LABELLED[name], _name(value))
        elif name == "kinds" and value is not None:  # `phone, email`: each kind by its label
            kinds = (locale.label("identifier", kind) for kind in value.split(", "))
            value = locale.t("summary.part.list_separator").join(kinds)
        elif name == "verified" and value is not None:
            value = locale.t(f"summary.part.{value}")
        values[name] = value or ""
    return values


def _name(value: str) -> str:
    """`an agent` → `agent`, `follow up` → `follow_up`."""
    words = value.lower().split()
    return "_".join(words[1:] if len(words) > 1 and words[0] in ("a", "an", "the") else words)
