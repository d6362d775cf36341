"""The credit-card story through the HTTP API (in process): inboxes at each step, then the case view.

Business time is the configured office calendar (Mon-Fri 09:00-12:00 and 13:00-18:00, Shanghai); the
acceptance target is the default four business hours. Expected times are worked out by hand in the comments.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.builders import recorded
from tests.support.case_api import BEARER, CaseApiComponents, case_api
from tests.support.credit_card import CASE_ID, Step, story

pytestmark = pytest.mark.unit

DEPARTMENTS = ("loan", "card_centre", "approval_office")
OPS = BEARER["ops"]
HOUR = 3600.0


def replay(client: TestClient, components: CaseApiComponents) -> dict[str, dict[str, dict[str, Any]]]:
    """Apply the story step by step; each department's inbox as seen just after each step."""
    seen: dict[str, dict[str, dict[str, Any]]] = {}
    position = 1
    steps: list[Step] = story()
    for step in steps:
        components.cases.store.apply(recorded(step.events, start=position))
        position += len(step.events)
        components.now = step.look_at
        seen[step.name] = {d: client.get(f"/v1/departments/{d}/inbox", headers=OPS).json() for d in DEPARTMENTS}
    return seen


def listed(inbox: dict[str, Any]) -> tuple[list[str], list[str], list[list[str]]]:
    """(awaiting case ids, held case ids, overdue reasons)."""
    return ([i["case"]["case_id"] for i in inbox["awaiting_acceptance"]["items"]],
            [i["case"]["case_id"] for i in inbox["held_open"]["items"]],
            [i["overdue"] for i in inbox["overdue"]["items"]])


@pytest.fixture(scope="module")
def told() -> Any:
    steps = story()
    with case_api(steps[0].look_at) as (client, components):
        inboxes = replay(client, components)
        yield client, inboxes


def test_each_departments_inbox_at_each_step(told: Any) -> None:
    _, inboxes = told
    expected = {
        "loan opens and hands off": {"loan": ([], [CASE_ID], []), "card_centre": ([CASE_ID], [], []),
                                     "approval_office": ([], [], [])},
        "first call; card centre accepts and hands on": {
            "loan": ([], [], []), "card_centre": ([], [CASE_ID], []), "approval_office": ([CASE_ID], [], [])},
        "second call, six days later": {
            "loan": ([], [], []), "card_centre": ([], [CASE_ID], [["promise:P-CC-1"]]),
            "approval_office": ([CASE_ID], [], [["acceptance"]])},
        "third call: the inquiry becomes a complaint": {
            "loan": ([], [], []), "card_centre": ([], [CASE_ID], [["promise:P-CC-1", "promise:P-CC-2"]]),
            "approval_office": ([CASE_ID], [], [["acceptance"]])},
        "approval office accepts, two weeks late": {
            "loan": ([], [], []), "card_centre": ([], [], []),
            "approval_office": ([], [CASE_ID], [["promise:P-CC-1", "promise:P-CC-2"]])},
        "approval office resolves": {d: ([], [], []) for d in DEPARTMENTS},
    }
    assert {step: {d: listed(box) for d, box in boxes.items()} for step, boxes in inboxes.items()} == expected


def test_the_card_centre_receives_the_context_so_nobody_asks_again(told: Any) -> None:
    _, inboxes = told
    (item,) = inboxes["loan opens and hands off"]["card_centre"]["awaiting_acceptance"]["items"]

    assert (item["handed_by"], item["since"], item["deadline"]) == (
        "loan", "2026-11-02T09:47:00+08:00", "2026-11-02T14:47:00+08:00")  # 09:47-12:00, 13:00-14:47
    assert item["waited"] == {"wall_seconds": 180.0, "business_seconds": 180.0}
    context = item["context"]
    assert context["said"][0]["kind"] == "description"
    assert context["said"][0]["text"].startswith("信用卡申请两个月未收到: 经信贷部推荐申请信用卡")
    assert [(g["kind"], g["value"]) for g in context["gave"]] == [
        ("customer_number", "C-100023"), ("national_id", "**************2426"), ("phone", "+8613800138000")]
    (summary,) = context["handoffs"]
    assert summary.startswith("loan → card_centre: 房贷客户；约两个月前经信贷部申请信用卡")


def test_the_approval_office_sees_how_long_the_case_has_waited_for_it(told: Any) -> None:
    _, inboxes = told
    (item,) = inboxes["second call, six days later"]["approval_office"]["awaiting_acceptance"]["items"]

    # Mon 2 Nov 10:50 until Mon 9 Nov 15:00; business: 6h10 on the 2nd, 4 x 8h, 5h on the 9th
    assert item["waited"] == {"wall_seconds": 7 * 24 * HOUR + 4 * HOUR + 10 * 60,
                              "business_seconds": (6 + 1 / 6 + 32 + 5) * HOUR}
    assert [p["promise_id"] for p in item["context"]["promises"]] == ["P-CC-1", "P-CC-2"]
    assert item["case"]["repeat_contacts"] == 2


def test_the_case_view_shows_the_chain_times_per_department_and_three_repeat_contacts(told: Any) -> None:
    client, _ = told
    case = client.get(f"/v1/cases/{CASE_ID}", headers=OPS).json()

    assert (case["status"], case["holder"], case["case_type"], case["path"]) == (
        "resolved", "approval_office", "complaint", ["loan", "card_centre", "approval_office"])
    chain = [(h["from_department"], h["to_department"], h["outcome"], h["dropped"], h["acceptance_latency"])
             for h in case["handoff_chain"]]
    assert chain == [
        ("loan", "card_centre", "accepted", False, {"wall_seconds": 53 * 60.0, "business_seconds": 53 * 60.0}),
        ("card_centre", "approval_office", "accepted", True,  # 10:50 on the 2nd until 11:00 on the 16th
         {"wall_seconds": 14 * 24 * HOUR + 600, "business_seconds": (6 + 1 / 6 + 72 + 2) * HOUR}),
    ]
    times = {t["department"]: (t["held"], t["awaiting_acceptance"]) for t in case["departments"]}
    assert times == {
        "loan": ({"wall_seconds": 56 * 60.0, "business_seconds": 56 * 60.0}, {"wall_seconds": 0.0,
                                                                              "business_seconds": 0.0}),
        "card_centre": ({"wall_seconds": 14 * 24 * HOUR + 20 * 60, "business_seconds": (80 + 1 / 3) * HOUR},
                        {"wall_seconds": 53 * 60.0, "business_seconds": 53 * 60.0}),
        "approval_office": ({"wall_seconds": 4 * 24 * HOUR + 5 * HOUR, "business_seconds": 36 * HOUR},
                            {"wall_seconds": 14 * 24 * HOUR + 600, "business_seconds": (80 + 1 / 6) * HOUR}),
    }
    assert case["repeat_contacts"] == 3
    assert [(c["channel"], c["department"], c["holder"], c["via"]) for c in case["contacts"]] == [
        ("phone", "card_centre", "loan", "customer"), ("phone", "card_centre", "card_centre", "case"),
        ("phone", "card_centre", "card_centre", "case")]
    assert [p["broken"] for p in case["context"]["promises"]] == [True, True]
    assert (case["anomalies"], case["anomaly_list"]) == (0, [])


def test_the_handoff_views_and_repeat_contacts(told: Any) -> None:
    client, _ = told
    pairs = client.get("/v1/handoffs/matrix", headers=OPS).json()["pairs"]
    dropped = client.get("/v1/handoffs/dropped", headers=OPS).json()
    contacts = client.get("/v1/repeat-contacts", headers=OPS).json()
    board = client.get("/v1/cases", params={"holder": "approval_office", "status": "resolved"}, headers=OPS).json()

    assert [(p["from_department"], p["to_department"], p["count"], p["dropped"], p["median_seconds"])
            for p in pairs] == [("card_centre", "approval_office", 1, 1, 14 * 24 * HOUR + 600),
                                ("loan", "card_centre", 1, 0, 53 * 60.0)]
    assert [(d["case_id"], d["seq"], d["deadline"]) for d in dropped["items"]] == [
        (CASE_ID, 2, "2026-11-02T15:50:00+08:00")]
    assert (contacts["total"], contacts["by_case"], contacts["by_channel"]) == (3, {CASE_ID: 3}, {"phone": 3})
    assert [c["case_id"] for c in board["cases"]] == [CASE_ID]
    assert client.get("/v1/handoffs/ping-pong", headers=OPS).json()["cases"] == 0


def test_errors_are_problem_details(told: Any) -> None:
    client, _ = told
    missing = client.get("/v1/cases/CASE-NOPE", headers=OPS)
    foreign = client.get("/v1/departments/approval_office/inbox", headers=BEARER["loan"])
    cursor = client.get("/v1/cases", params={"cursor": "not-ours"}, headers=OPS)
    bad_slug = client.get("/v1/departments/Not A Slug/inbox", headers=OPS)

    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
    assert foreign.status_code == 403
    assert (cursor.status_code, cursor.json()["errors"][0]["loc"]) == (422, "query.cursor")
    assert bad_slug.status_code == 422
    assert client.get(f"/v1/cases/{CASE_ID}").status_code == 401
    own = client.get("/v1/departments/loan/inbox", headers=BEARER["loan"])
    assert own.status_code == 200


def test_the_board_filters_by_age_status_and_holder(told: Any) -> None:
    client, _ = told  # as of 20 Nov 17:00 the case, opened 2 Nov 09:44, is 18 days 7h16 old

    def ids(**params: Any) -> list[str]:
        return [c["case_id"] for c in client.get("/v1/cases", params=params, headers=OPS).json()["cases"]]

    assert (ids(older_than="P18D"), ids(older_than="P19D")) == ([CASE_ID], [])
    assert (ids(younger_than="P19D"), ids(younger_than="P18D")) == ([CASE_ID], [])
    assert (ids(status=["open", "waiting_on_customer"]), ids(holder="loan")) == ([], [])
    assert ids(customer=client.get(f"/v1/cases/{CASE_ID}", headers=OPS).json()["customer_id"]) == [CASE_ID]
