"""A request body read with a size limit and parsed as JSON, refusals naming field and rule."""

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
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, "validation", "the body nests too deep", field="body",
                       rule="max_depth") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, "validation", f"the body is not JSON: {error}", field="body",
                       rule="json") from None


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, though Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON value")
