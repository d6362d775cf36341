"""Alembic environment: migrations run on the connection `services.migrations` hands over (never from a URL)."""

from services.migrations import run_in_alembic_context

run_in_alembic_context()
