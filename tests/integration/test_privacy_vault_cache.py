"""The key vault caches keys across batches, and an erasure, by any process, still destroys them: a destroyed key is
never served from a cache, the anchor gets a new key, and its values read as the pseudonym from the next batch on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from contracts import CallReceived
from domain.privacy.sealing import DataKey, ErasedKey
from services.adapters.databases import open_store_database
from services.adapters.privacy import vault as vault_module
from services.adapters.privacy.keys import open_vault, privacy_kek
from services.adapters.privacy.sealer import Sealer
from services.adapters.privacy.vault import KeyVault, pseudonym
from services.adapters.settings import Settings
from services.adapters.store.eventstore import StoredLogEntry, topic_of

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(env="test", data_dir=tmp_path, database_url="", views_database_url="")
    url = request.getfixturevalue("postgres_url")
    return Settings(env="test", database_url=url, db_schema=request.getfixturevalue("pg_schema"))


@pytest.fixture
def vaults(settings: Settings) -> Iterator[tuple[KeyVault, KeyVault, list[str]]]:
    """The sealer's vault (its statements on the key tables listed) and another one, as an erasure opens."""
    engine = open_store_database(settings)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", _recorder(statements))
    sealing = KeyVault(engine, privacy_kek(settings))
    sealing.create()
    erasing = open_vault(settings)
    yield sealing, erasing, statements
    sealing.close()
    erasing.close()


def _recorder(statements: list[str]) -> Any:
    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)
    return record


def test_known_keys_are_served_from_the_cache(vaults: tuple[KeyVault, KeyVault, list[str]]) -> None:
    sealing, _, statements = vaults
    first = sealing.keys_for(["anchor-a", "anchor-b"], NOW)
    assert first["anchor-a"] != first["anchor-b"]
    statements.clear()
    assert sealing.keys_for(["anchor-a", "anchor-b"], NOW) == first
    assert sealing.ring([first["anchor-a"].key_id]) == {first["anchor-a"].key_id: first["anchor-a"]}
    asked = [s for s in statements if s != "BEGIN"]
    assert asked == [asked[0]] * 2 and asked[0].startswith("SELECT count(*)")  # only the count of erased keys


def test_a_key_destroyed_by_another_vault_is_never_served_from_the_cache(
        vaults: tuple[KeyVault, KeyVault, list[str]]) -> None:
    sealing, erasing, _ = vaults
    old = sealing.keys_for(["anchor-a", "anchor-b"], NOW)
    assert sealing.ring([old["anchor-a"].key_id])  # cached by id too
    assert erasing.destroy(["anchor-a"], "erasure-1", "event-1", "test", NOW) == (old["anchor-a"].key_id,)
    new = sealing.keys_for(["anchor-a", "anchor-b"], NOW)
    assert new["anchor-a"].key_id != old["anchor-a"].key_id  # a new key, not the destroyed one
    assert new["anchor-b"] == old["anchor-b"]
    ring = sealing.ring([old["anchor-a"].key_id, new["anchor-a"].key_id])
    assert ring[old["anchor-a"].key_id] == ErasedKey(old["anchor-a"].key_id, pseudonym("erasure-1"))
    assert ring[new["anchor-a"].key_id] == new["anchor-a"]


def test_a_key_destroyed_by_the_same_vault_is_forgotten_at_once(
        vaults: tuple[KeyVault, KeyVault, list[str]]) -> None:
    sealing, _, _ = vaults
    old = sealing.keys_for(["anchor-a"], NOW)["anchor-a"]
    sealing.destroy(["anchor-a"], "erasure-1", "event-1", "test", NOW)
    assert isinstance(sealing.ring([old.key_id])[old.key_id], ErasedKey)
    assert sealing.keys_for(["anchor-a"], NOW)["anchor-a"].key_id != old.key_id


def test_sealed_values_read_as_the_pseudonym_from_the_batch_after_an_erasure(settings: Settings) -> None:
    sealer, erasing = Sealer(open_vault(settings)), open_vault(settings)
    data = CallReceived.example_data() | {"customer": {"phone": "13800138000"}}
    event_ = CallReceived.model_validate(data)
    row = StoredLogEntry(1, event_.event_id, topic_of(event_), sealer.seal([event_])[0])
    assert sealer.open([row]) == [event_]
    anchor = next(iter(sealer._vault._live.by_anchor))  # noqa: SLF001 - the anchor the sealer cached
    erasure = erasing.destroy([anchor], "erasure-1", "event-1", "test", NOW)
    assert erasure
    opened = sealer.open([row])[0]
    assert opened.customer.customer_number == pseudonym("erasure-1") and opened.customer.phone is None
    again = StoredLogEntry(2, event_.event_id, topic_of(event_), sealer.seal([event_])[0])
    assert erasure[0] not in again.state.decode() and sealer.open([again]) == [event_]
    sealer.close()
    erasing.close()


def test_the_caches_are_bounded(vaults: tuple[KeyVault, KeyVault, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    sealing, _, _ = vaults
    monkeypatch.setattr(vault_module, "_CACHE_LIMIT", 2)
    keys = {anchor: sealing.keys_for([anchor], NOW)[anchor] for anchor in ("a", "b", "c", "d", "e")}
    live = sealing._live  # noqa: SLF001
    assert max(len(live.by_anchor), len(live.by_id), len(live.unwrapped)) <= 2
    assert sealing.keys_for(list(keys), NOW) == keys  # what fell out is loaded again
    assert isinstance(keys["a"], DataKey)
