"""`python -m services.entrypoints.security_doc docs/security.md`: regenerate the permission matrix table in the
document from the routes of the app and services.entrypoints.api.permissions.MATRIX (`make docs`)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from services.adapters.settings import Settings
from services.entrypoints.api.permissions import render_markdown, with_table
from services.entrypoints.app import api_routes, build_app


def write_doc(path: Path) -> None:
    app = build_app(SimpleNamespace(settings=Settings(env="test", bootstrap_tokens="")))
    path.write_text(with_table(path.read_text(encoding="utf-8"), render_markdown(api_routes(app))), encoding="utf-8")


if __name__ == "__main__":
    write_doc(Path(sys.argv[1]))
