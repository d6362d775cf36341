"""Alembic environment: migrations run on the connection `services.adapters.migrations` hands over (never
from a URL)."""

from services.adapters.migrations import run_in_alembic_context

run_in_alembic_context()
