"""The contact-quality measures over a generated log give the answers written down by its generator."""

from __future__ import annotations

import pytest

from projections.contacts.memory import MemoryContactsStore
from tests.support.quality_contacts_check import check_all, views
from tests.support.quality_contacts_data import generate


@pytest.mark.parametrize("seed", [11, 12])
def test_every_measure_matches_the_known_answers(seed: int) -> None:
    data = generate(seed=seed)
    events = data.recorded()
    store = MemoryContactsStore()
    store.apply(events)

    check_all(views(store, events), data, events)
