"""Fixtures shared by the contract tests of the read-model stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from projections.sqlstore import make_engine, url_with_search_path


@pytest.fixture(params=["sqlite", "postgres"])
def views(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty place for read models on the backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        engine = make_engine(url_with_search_path(url, schema))
    yield engine
    engine.dispose()
