"""Logging of every `touchline` command: JSON lines (production default) or text, one setup for all processes."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from services.adapters.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields every JSON line carries; `extra={...}` adds more (event_id, topic, partition, offset, loop, reason).
JSON_FIELDS = ("asctime", "levelname", "name", "message", "threadName")
QUIET = ("kafka", "httpx", "httpcore")  # chatty libraries: warnings and worse only


def log_format(settings: Settings) -> str:
    """json or text: TOUCHLINE_LOG_FORMAT if set, else json in production and text elsewhere."""
    return settings.log_format or ("json" if settings.env == "production" else "text")


def configure_logging(settings: Settings) -> None:
    """Replace the root logger's handlers with one on stderr in the configured format."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format(settings) == "json":
        handler.setFormatter(JsonFormatter(list(JSON_FIELDS), rename_fields={"levelname": "level",
                                                                            "asctime": "time",
                                                                            "name": "logger",
                                                                            "threadName": "thread"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through the root handler, same format
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
