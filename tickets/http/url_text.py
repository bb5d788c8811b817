"""Refuse a URL whose path or query is not UTF-8 text, before anything reads it.

The server percent-decodes the path and the query with replacement characters, so ``%ED%A0%80``
(an encoded surrogate) or ``%FF`` would reach a route as ``\\ufffd`` and be answered as if the
caller had sent that. This pure ASGI layer decodes the raw bytes strictly instead and answers
400 with the field (``path`` or the query parameter's name) and rule ``unicode_text``.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send


def _is_utf8(raw: bytes) -> bool:
    if raw.isascii() and b"%" not in raw:
        return True
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def bad_field(raw_path: bytes, query: bytes) -> str | None:
    """The URL part that is not UTF-8 text (``path`` or a parameter's name), or None."""
    if not _is_utf8(raw_path):
        return "path"
    if query.isascii() and b"%" not in query:
        return None
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if not (_is_utf8(name.replace(b"+", b" ")) and _is_utf8(value.replace(b"+", b" "))):
            return unquote_to_bytes(name).decode("utf-8", "replace") or "query"
    return None


class UrlText:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        field = None
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            field = bad_field(raw_path, scope.get("query_string", b""))
        if field is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "validation", "message": f"{field} is not UTF-8 text",
                           "field": field, "rule": "unicode_text"}).encode()
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
