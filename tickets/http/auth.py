"""Bearer tokens, roles and desks: 401 without a valid token, 403 outside the role; each refusal logged.

A caller carries its token's desks (``Caller.desks``); the routes show and act on those desks'
tickets only. A token issued before tokens named desks (``desks`` NULL) is refused with 401
``token_desks`` until it is issued again with ``--desk`` or ``--all-desks``.

The log line names the route, the reason and, when the token was known, its name and role; never
the token itself, nor the Authorization header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tickets.domain.actor import Actor
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.context import context_of
from tickets.http.problems import ApiError
from tickets.http.roles import Permission, may

log = structlog.get_logger("tickets.http")
bearer = HTTPBearer(auto_error=False, description="a token from `tickets token create`")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    desks: DeskScope = EVERY_DESK

    @property
    def view(self) -> str:
        """What a read's body depends on besides the request: the role (masking) and the desks."""
        return view_of(self.role, self.desks)

    @property
    def actor(self) -> Actor:
        """Who the caller's commands are recorded as: ``service:<name>`` or ``agent:<name>``."""
        return Actor("service" if self.role == "service" else "agent", self.name)

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)


def _refuse(request: Request, status: int, reason: str, message: str, caller: Caller | None = None
            ) -> ApiError:
    log.warning("http_refused", status=status, reason=reason, method=request.method,
                route=request.url.path, token_name=caller.name if caller else None,
                role=caller.role if caller else None)
    if status == 401:
        return ApiError(401, "unauthenticated", message, field="authorization", rule=reason,
                        headers=_CHALLENGE)
    return ApiError(403, "forbidden", message, field="role", rule=reason)


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or not credentials.credentials:
        raise _refuse(request, 401, "bearer_token_required",
                      "send a token as Authorization: Bearer <token>")
    found = context_of(request).tokens.find(credentials.credentials)
    if found is None:
        raise _refuse(request, 401, "known_token", "the token is not known")
    caller = Caller(found.name, found.role, found.desks or EVERY_DESK)
    if not found.live:
        raise _refuse(request, 401, "live_token", "the token was revoked", caller)
    if found.desks is None:
        raise _refuse(request, 401, "token_desks", "the token names no desks (it was issued before "
                      "tokens named desks); issue a new one with --desk or --all-desks", caller)
    return caller


def view_of(role: str, desks: DeskScope) -> str:
    return f"{role}@{desks.text()}"


def require(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the authenticated caller, whose role must grant ``permission``.

    It runs on the event loop: the token's row is one primary-key read, far cheaper than the
    two thread switches a synchronous dependency would cost.
    """

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Caller:
        caller = authenticate(request, credentials)
        if not caller.may(permission):
            raise _refuse(request, 403, f"role_may_{permission.value}",
                          f"the {caller.role} role may not {permission.value} here", caller)
        request.state.caller = caller
        return caller

    return dependency


def reader_if_any(request: Request) -> Caller | None:
    """The caller, when the request carries a live token with desks whose role may read; else None.

    For routes that answer without a token too (``/metrics``), showing more to a reader.
    """
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    found = context_of(request).tokens.find(header.removeprefix("Bearer ").strip())
    if found is None or not found.live or found.desks is None or not may(found.role, Permission.READ):
        return None
    return Caller(found.name, found.role, found.desks)
