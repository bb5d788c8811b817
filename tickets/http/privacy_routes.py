"""``POST /api/privacy/erasures``: an auditor erases a requester's personal data.

The body is ``{"requester": ID, "basis": TEXT}``; the answer says when the key was destroyed.
Erasing twice is 409 (``already_erased``), a requester of whom nothing personal is held 404
(``known_requester``). The erasure is recorded as asked by ``auditor:<token name>``.

A requester's key seals their data on every desk, so only an auditor of every desk may erase: a
desk-scoped auditor gets 403 (``erase_every_desk``) before anything is looked up, which also keeps
it from learning, by 404 or 409, whether a requester is known on desks it does not see.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from tickets.http.auth import Caller, require
from tickets.http.body import bounded_body, json_body
from tickets.http.context import context_of
from tickets.http.problems import ApiError
from tickets.http.roles import Permission

router = APIRouter(prefix="/api", tags=["privacy"])
Eraser = Annotated[Caller, Depends(require(Permission.ERASE))]


def _text(body: Any, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise ApiError(400, "validation", f"{name} is required, as text", field=name,
                       rule="required")
    return value


@router.post("/privacy/erasures", summary="Erase a requester's personal data (auditors)")
async def erase_route(request: Request, caller: Eraser) -> dict[str, Any]:
    from tickets.privacy.erase import erase
    from tickets.privacy.keys import KeyTable

    if not caller.desks.every:
        raise ApiError(403, "forbidden", "a requester's data spans desks: only a token for every "
                       "desk may erase it", field="authorization", rule="erase_every_desk")
    ctx = context_of(request)
    body = json_body(await bounded_body(request, ctx.body_limit))
    requester, basis = _text(body, "requester"), _text(body, "basis")
    keys = ctx.desk.personal
    if not isinstance(keys, KeyTable):
        raise ApiError(409, "lifecycle", "this desk keeps no key table: nothing is sealed",
                       field="requester", rule="has_key_table")
    done = await run_in_threadpool(erase, ctx.desk, keys, requester,
                                   asked_by=f"auditor:{caller.name}", basis=basis)
    return done.as_json()
