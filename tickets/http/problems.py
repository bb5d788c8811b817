"""Every refusal has one JSON shape: ``{"error", "message", "field", "rule"}``, with a 4xx status.

The domain's ``TicketError`` family maps onto statuses by its ``code``; FastAPI's own validation
errors (query parameters, path parameters) and Starlette's (unknown route, wrong method) are
rewritten into the same shape, so no client ever has to parse two kinds of error.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tickets.domain.errors import TicketError

log = structlog.get_logger("tickets.http")

#: HTTP status for each ``TicketError.code``; 403 is kept for "your role may not do this".
STATUS_OF_CODE = {
    "validation": 400, "policy": 400, "not_found": 404, "lifecycle": 409, "concurrency": 409,
    "time_order": 422, "entitlement": 422, "invalid": 400,
}


class ApiError(Exception):
    """A refusal raised inside a route: status, a stable ``error`` code, field and rule."""

    def __init__(self, status: int, error: str, message: str, *, field: str | None = None,
                 rule: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message, "field": field, "rule": rule}
        self.headers = headers


def status_of(error: TicketError) -> int:
    return STATUS_OF_CODE.get(error.code, 400)


def from_ticket_error(error: TicketError) -> ApiError:
    return ApiError(status_of(error), error.code, str(error), field=error.field, rule=error.rule)


def problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem(exc.status, exc.body, exc.headers)


async def _ticket_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TicketError)
    return _api_error_response(from_ticket_error(exc))


def _api_error_response(error: ApiError) -> JSONResponse:
    return problem(error.status, error.body, error.headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = next(iter(exc.errors()), {})
    where = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "header", "body")]
    return problem(400, {
        "error": "validation", "message": str(first.get("msg", "invalid request")),
        "field": ".".join(where) or None, "rule": str(first.get("type", "invalid")),
    })


async def _starlette(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    rule = {404: "known_route", 405: "allowed_method"}.get(exc.status_code, "http")
    field = "path" if exc.status_code == 404 else "method" if exc.status_code == 405 else None
    return problem(exc.status_code, {"error": "http", "message": str(exc.detail), "field": field,
                                     "rule": rule}, dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug, not bad input: logged with its traceback; the caller learns nothing of the inside."""
    log.exception("http_unexpected_error", method=request.method, path=request.url.path)
    return problem(500, {"error": "internal", "message": "internal error", "field": None, "rule": None})


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(TicketError, _ticket_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _starlette)
    app.add_exception_handler(Exception, _unexpected)
