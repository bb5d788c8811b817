"""A request body read with a size limit and parsed as JSON, refusals naming field and rule.

JSON may spell what Unicode text cannot hold: an unpaired surrogate (``"\\ud800"``). Python's
parser takes it, and the first encode (the event store, a log line) would fail deep inside; so
every string of the body, keys included, is checked here and refused by its path
(``fields.contact_name``) with rule ``unicode_text``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from tickets.http.problems import ApiError


async def bounded_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _too_large(limit) if declared.isdigit() else ApiError(
            400, "validation", "Content-Length must be a number", field="content-length",
            rule="integer")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise _too_large(limit)
    return bytes(received)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "validation", f"the body is larger than {limit} bytes", field="body",
                    rule="max_bytes")


def json_body(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(400, "validation", "the body is empty; send a JSON object", field="body",
                       rule="required")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, "validation", "the body nests too deep", field="body",
                       rule="max_depth") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, "validation", f"the body is not JSON: {error}", field="body",
                       rule="json") from None
    check_text(value)
    return value


def check_text(value: Any, path: str = "") -> None:
    """Refuse the first string (or key) in ``value`` that is not valid Unicode text."""
    if isinstance(value, str):
        if not is_text(value):
            raise ApiError(400, "validation", f"{path or 'body'} is not valid Unicode text "
                           "(an unpaired surrogate)", field=path or "body", rule="unicode_text")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if not is_text(key):
                check_text(key, f"{path}.<key>" if path else "<key>")
            check_text(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_text(item, f"{path}[{index}]")


def is_text(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, though Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON value")
