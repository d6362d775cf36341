"""Request bodies at the edge: only JSON (415 otherwise; the console's HTML forms under its prefix excepted), at
most TOUCHLINE_MAX_BODY_BYTES (413), no object with the same key twice (400 naming the key's path), and no string
no store can hold (NUL, lone surrogates: 422 naming the path), before any route parses them. The events endpoint
reports such strings per item instead (the contracts refuse them), so one bad event does not refuse its whole batch.

Every JSON parser keeps one of two duplicate keys silently (the last, usually), so a document such as
`{"source": {"department": "hotline", "department": "billing"}}` would mean different things to different
readers; refusing it keeps what touchline validated and what it stores the same document.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.entrypoints.api.problems import send_problem

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA_TYPES = frozenset({"application/json"})
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class DuplicateKey(ValueError):
    """A JSON object names the same key twice; `path` is where (`[3].source.department`)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"duplicate key {path}")
        self.path = path


class UnstorableString(ValueError):
    """A string (or key) holds NUL or a lone surrogate; `path` is where."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"{kind} at {path}")
        self.path, self.kind = path, kind


class _Pairs(list[tuple[str, Any]]):
    """An object's members in document order, duplicates kept (json's object_pairs_hook)."""


def check_duplicate_keys(raw: bytes, strings: bool = False) -> None:
    """Raise DuplicateKey for the first object holding a key twice (and, with `strings`, UnstorableString for
    the first string no store can hold); malformed JSON is left to the route's parser."""
    try:
        document = json.loads(raw, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return  # not JSON (the route's parser says why) or nested beyond reason
    path = _first_duplicate(document, "")
    if path is not None:
        raise DuplicateKey(path)
    if strings:
        _check_strings(document, "")


def _check_strings(node: Any, path: str) -> None:
    if isinstance(node, str):
        _check_string(node, path)
    elif isinstance(node, _Pairs):
        for key, value in node:
            where = f"{path}.{key}" if path else key
            _check_string(key, where)
            _check_strings(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _check_strings(item, f"{path}[{index}]")


def _check_string(text: str, path: str) -> None:
    if "\x00" in text:
        raise UnstorableString(path, "string_nul")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableString(path, "string_unicode") from None


def _first_duplicate(node: Any, path: str) -> str | None:
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, value in node:
            where = f"{path}.{key}" if path else key
            if key in seen:
                return where
            seen.add(key)
            if (found := _first_duplicate(value, where)) is not None:
                return found
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if (found := _first_duplicate(item, f"{path}[{index}]")) is not None:
                return found
    return None


def media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


class JsonBodyMiddleware:
    """Reads a request body once, checks type, size and duplicate keys, then hands the same bytes on."""

    def __init__(self, app: ASGIApp, max_bytes: int, per_item_paths: frozenset[str] = frozenset(),
                 form_prefix: str | None = None) -> None:
        self._app = app
        self._max_bytes = max_bytes
        self._per_item_paths = per_item_paths  # bodies whose strings the route checks item by item
        self._form_prefix = form_prefix  # paths taking HTML form bodies (the console's pages), size-checked only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self._app(scope, receive, send)
            return
        raw = await self._read(receive)
        if raw is None:
            await send_problem(scope, send, 413, "Request too large", f"At most {self._max_bytes} bytes per request.")
            return
        if raw and self._is_form(scope):
            await self._app(scope, _replay(raw, receive), send)
            return
        if raw and media_type(scope) not in JSON_MEDIA_TYPES:
            await send_problem(scope, send, 415, "Unsupported media type",
                           "Send the body as JSON with `Content-Type: application/json`.")
            return
        try:
            check_duplicate_keys(raw, strings=scope["path"] not in self._per_item_paths)
        except DuplicateKey as exc:
            error = {"loc": _body_path(exc.path), "message": "Duplicate key: each key may appear once per object",
                     "type": "duplicate_key"}
            await send_problem(scope, send, 400, "Duplicate JSON key", f"The key {exc.path} appears twice.",
                               errors=[error])
            return
        except UnstorableString as exc:
            error = {"loc": _body_path(exc.path), "message": "String must be valid Unicode without NUL characters",
                     "type": exc.kind}
            await send_problem(scope, send, 422, "Invalid request", "See errors.", errors=[error])
            return
        await self._app(scope, _replay(raw, receive), send)

    def _is_form(self, scope: Scope) -> bool:
        return (self._form_prefix is not None and scope["path"].startswith(self._form_prefix)
                and media_type(scope) == FORM_MEDIA_TYPE)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it exceeds the limit."""
        raw = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            raw += message.get("body", b"")
            if len(raw) > self._max_bytes:
                return None
            if not message.get("more_body", False):
                break
        return bytes(raw)


def _body_path(path: str) -> str:
    """`source.department` → `body.source.department`, `[3].event_id` → `body[3].event_id`."""
    return f"body{path}" if path.startswith("[") or not path else f"body.{path}"


def _replay(raw: bytes, original: Receive) -> Receive:
    """The body already read, then whatever the client sends next (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return receive

