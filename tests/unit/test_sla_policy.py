"""Policies: the shipped default, rule matching, versions in force by effective time, durations, config files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from contracts import SlaBasis, SlaMetric
from domain.sla.calendar import calendar_from_mapping
from domain.sla.policy import ClockContext, Policy, PolicyError, calendar_contract, calendar_mapping, parse_duration
from services.adapters.config import ConfigError, load_departments, load_policy
from tests.support.sla import CONFIG, HOUR, OFFICE, at, book, policy_payload, rule

pytestmark = pytest.mark.unit

DEFAULT = Policy(CONFIG.default_policy)


def test_the_shipped_policy_snapshots_calendars_and_departments() -> None:
    payload = CONFIG.default_policy
    assert payload.version == 1 and payload.warning_percentages == (50, 75)
    assert {c.name for c in payload.calendars} == {"default", "hotline-24x7"}
    assert DEFAULT.calendar_for("hotline").always_open
    assert DEFAULT.calendar_for("card_centre") == OFFICE
    assert DEFAULT.calendar_for("some-new-department").name == "default"
    assert DEFAULT.manager_role("card_centre") == "card_centre-manager"
    assert DEFAULT.manager_role("some-new-department") == "some-new-department-manager"


@pytest.mark.parametrize(("context", "metric", "rule_name", "seconds"), [
    (ClockContext("card_centre", "inquiry", "normal"), SlaMetric.RESOLUTION, "default", 40 * HOUR),
    (ClockContext("card_centre", "complaint", "normal"), SlaMetric.RESOLUTION, "complaints", 16 * HOUR),
    (ClockContext("card_centre", "inquiry", "urgent"), SlaMetric.FIRST_RESPONSE, "urgent", 30 * 60),
    (ClockContext("card_centre", "inquiry", "normal", "vip"), SlaMetric.FIRST_RESPONSE, "key-accounts", HOUR),
    (ClockContext("hotline", "inquiry", "normal"), SlaMetric.FIRST_RESPONSE, "hotline", 15 * 60),
    # the hotline rule sets no resolution target: the next matching rule that does applies
    (ClockContext("hotline", "inquiry", "normal"), SlaMetric.RESOLUTION, "default", 40 * HOUR),
])
def test_the_first_matching_rule_with_a_target_for_the_metric_applies(
        context: ClockContext, metric: SlaMetric, rule_name: str, seconds: int) -> None:
    chosen = DEFAULT.select(metric, context)
    assert chosen is not None
    assert (chosen.rule, chosen.target.seconds, chosen.policy_version) == (rule_name, seconds, 1)
    assert chosen.warnings == (50, 75)


def test_no_matching_target_means_no_clock() -> None:
    narrow = Policy(policy_payload(rules=[rule("cards", match={"departments": ["card_centre"]}, resolution=HOUR)]))
    assert narrow.select(SlaMetric.RESOLUTION, ClockContext("loan")) is None
    assert narrow.select(SlaMetric.FIRST_RESPONSE, ClockContext("card_centre")) is None


def test_rule_warnings_override_the_policy_warnings() -> None:
    data = rule("x", resolution=HOUR) | {"warning_percentages": [90, 25, 90]}
    chosen = Policy(policy_payload(rules=[data])).select(SlaMetric.RESOLUTION, ClockContext("loan"))
    assert chosen is not None and chosen.warnings == (25, 90)


def test_the_version_in_force_is_the_latest_effective_at_the_instant() -> None:
    v2_from = at("2026-12-01", "00:00")
    policies = book(CONFIG.default_policy, policy_payload(2, v2_from, [rule("v2", resolution=HOUR)]))
    assert policies.in_force(v2_from - timedelta(seconds=1)).version == 1  # type: ignore[union-attr]
    assert policies.in_force(v2_from).version == 2  # type: ignore[union-attr]
    assert policies.latest is not None and policies.latest.version == 2
    assert book(policy_payload(1, v2_from)).in_force(at("2026-11-01", "09:00")) is None


def test_a_recorded_version_is_never_replaced() -> None:
    first = book(policy_payload(3, rules=[rule("a", resolution=HOUR)]))
    again = first.adding(Policy(policy_payload(3, rules=[rule("b", resolution=HOUR)])))
    assert again is first


def test_a_policy_naming_an_unknown_calendar_is_refused() -> None:
    with pytest.raises(PolicyError, match="unknown calendars: nowhere"):
        Policy(policy_payload(default_calendar="nowhere"))


@pytest.mark.parametrize(("text", "seconds"), [("4h", 4 * HOUR), ("30m", 1800), ("1h30m", 5400), ("90s", 90),
                                               (7200, 7200)])
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["2d", "", "0m", "soon", True, -5])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(PolicyError):
        parse_duration(text)


def test_calendars_survive_the_round_trip_through_the_policy_event() -> None:
    for calendar in CONFIG.calendars.values():
        contract = CONFIG.default_policy.calendars[[c.name for c in CONFIG.default_policy.calendars].index(
            calendar.name)]
        assert calendar_from_mapping(calendar.name, calendar_mapping(contract)) == calendar
        assert calendar_contract(calendar)["name"] == calendar.name


def test_policy_file_targets_use_durations_and_basis(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(
        'version = 4\neffective_at = 2026-12-01T00:00:00+08:00\n'
        '[[rules]]\nname = "r"\ntargets.resolution = { within = "2h", basis = "calendar" }\n')
    payload = load_policy(tmp_path / "policy.toml")
    assert payload.version == 4
    assert payload.rules[0].targets.resolution is not None
    assert (payload.rules[0].targets.resolution.seconds, payload.rules[0].targets.resolution.basis) == (
        2 * HOUR, SlaBasis.CALENDAR)
    (tmp_path / "bad.toml").write_text('version = 4\neffective_at = 2026-12-01T00:00:00+08:00\nrules = []\n')
    with pytest.raises(ConfigError):
        load_policy(tmp_path / "bad.toml")


def test_departments_file_gives_calendars_roles_sites_and_webhooks(tmp_path: Path) -> None:
    (tmp_path / "d.toml").write_text(
        'default_calendar = "default"\n[departments.cards]\ncalendar = "hotline-24x7"\n'
        'webhooks = [{ url = "https://example.cn/hook" }]\n[sites]\n"北京分行" = "beijing"\n')
    departments = load_departments(tmp_path / "d.toml")
    assert departments.calendar_name("cards") == "hotline-24x7"
    assert departments.calendar_name("cards", "北京分行") == "beijing"
    assert departments.calendar_name("loan") == "default"
    assert departments.manager_role("cards") == "cards-manager"
    assert [(w.department, w.url, w.secret_env) for w in departments.webhooks] == [
        ("cards", "https://example.cn/hook", "TOUCHLINE_WEBHOOK_SECRET")]
