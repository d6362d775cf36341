"""A generated log for replay tests and the rebuild benchmark: an SLA policy, generated cases and touchpoints."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from contracts import Envelope, parse
from tests.support.case_generator import SHANGHAI, generate
from tests.support.pipeline import touchpoint
from tests.support.sla import policy_event, policy_payload

EVENTS_PER_CASE = 6.7  # what the case generator writes on average
TOUCHPOINT_SHARE = 3  # one touchpoint after every third case event
CASES_PER_MONTH = 11_000  # of a steady history: about 100,000 events every four weeks


def replay_log(total: int, seed: int = 20261125, *, per_month: int | None = None) -> list[Envelope]:
    """About `total` events (exactly `total` when enough were generated) in a fixed order for a fixed seed:
    a policy effective before the first case, cases across departments, and touchpoints of 5,000 customers.

    The cases open in March 2026: a longer log is a denser one, with more cases in progress at once. With `per_month`
    (CASES_PER_MONTH: a steady history), a longer log is a longer history instead: `per_month` cases open every four
    weeks, over the months before (as many in progress at once whatever the length), and their customers come back
    (`case_generator.generate`)."""
    case_events = total * 1.05 * TOUCHPOINT_SHARE / (TOUCHPOINT_SHARE + 1)  # 5% spare, cut below
    cases = generate(int(case_events / EVENTS_PER_CASE) + 1, seed=seed, per_month=per_month)
    effective = datetime(2026, 1, 1, tzinfo=SHANGHAI)
    if per_month is not None and cases.events:  # in force a day before the first case (the log is in time order)
        effective = min(effective, cases.events[0].occurred_at - timedelta(days=1))
    policy = policy_event(policy_payload(effective_at=effective))
    log: list[Envelope] = [policy]
    departments = ("hotline", "web", "frontdesk")
    ids = random.Random(f"touchpoints-{seed}")  # not the generator's sequence: ids must differ
    for i, event in enumerate(cases.events):
        log.append(event)
        if i % TOUCHPOINT_SHARE == TOUCHPOINT_SHARE - 1:
            data = touchpoint(i, departments[i % 3], customers=5000)
            data["event_id"] = str(uuid.UUID(int=ids.getrandbits(128), version=4))
            log.append(parse(data))
    return log[:total]
