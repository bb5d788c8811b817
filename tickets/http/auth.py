"""Bearer tokens and roles: 401 without a valid token, 403 outside the role; each refusal logged.

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
    caller = Caller(found.name, found.role)
    if not found.live:
        raise _refuse(request, 401, "live_token", "the token was revoked", caller)
    return caller


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
