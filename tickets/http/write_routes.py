"""The write API: the intake topic's command messages over HTTP, with the same answers.

``POST /api/commands`` runs ``domain.commands.execute`` under the caller's identity
(``service:<token name>`` or ``agent:<token name>``). The answer is the intake's answer, with an
HTTP status that says the same: 200 accepted (``duplicate: true`` when the command id was applied
before), 400/404/409/422 rejected (see ``problems.STATUS_OF_CODE``). A command without its own
``channel`` is recorded as sent through ``api``.

Desks: a caller opens tickets and acts only on its token's desks (``domain.scope``): a new ticket
on another desk is refused naming ``desk`` (``desk_in_scope``); another desk's ticket is refused
exactly as one that does not exist (404, ``known_ticket``). A caller who reads everyone's answers
sees another sender's answer only when it names a ticket of the caller's desks.

Idempotency: a command is applied once per sender and ``command_id`` (the desk keeps a receipt
per pair, with a digest of the command). The same id from another caller is another command; the
same id from the same caller for a different command is refused with 409 (``command_id_reused``)
and the first answer stays the one kept. The ``Idempotency-Key`` header fills ``command_id`` when
the body has none; both given and different is refused, naming ``command_id``.

An accepted answer carries ``at_least`` (``<ticket id>@<version>``): a read that sends it back
waits until the read models hold the write (``read_after``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tickets.application.commands import MAX_COMMAND_ID, execute
from tickets.domain.errors import TicketError
from tickets.http.auth import Caller, require
from tickets.http.body import bounded_body, json_body
from tickets.http.context import context_of
from tickets.http.problems import STATUS_OF_CODE, ApiError
from tickets.http.read_after import mark_of
from tickets.http.roles import Permission

router = APIRouter(prefix="/api", tags=["write"])
Writer = Annotated[Caller, Depends(require(Permission.WRITE))]
AnswerReader = Annotated[Caller, Depends(require(Permission.ANSWERS))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                              max_length=MAX_COMMAND_ID)]


def _rejected(status: int, command_id: Any, error: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"command_id": command_id if isinstance(command_id, str) else None,
                         "status": "rejected", "error": error}, status_code=status)


def _with_key(message: Any, key: str | None) -> Any:
    if not isinstance(message, dict):
        return message
    if not isinstance(message.get("type", ""), str):  # a list or map here would not be hashable
        raise ApiError(400, "validation", "type must be str", field="type", rule="type")
    if key is not None:
        given = message.get("command_id")
        if given is None:
            message["command_id"] = key
        elif given != key:
            raise ApiError(400, "validation", "the Idempotency-Key header and command_id differ",
                           field="command_id", rule="idempotency_key_matches")
    message.setdefault("channel", "api")
    return message


@router.post("/commands", summary="Send one command; the intake topic's message and answer")
async def command_route(request: Request, caller: Writer,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    ctx = context_of(request)
    command_id = idempotency_key
    try:
        message = json_body(await bounded_body(request, ctx.body_limit))
        if isinstance(message, dict) and isinstance(message.get("command_id"), str):
            command_id = message["command_id"]
        message = _with_key(message, idempotency_key)
        answer = (await run_in_threadpool(execute, ctx.desk, message, caller.actor, caller.desks)).as_map()
    except ApiError as error:
        return _rejected(error.status, command_id, error.body)
    except TicketError as error:  # the caller's own identity failed its checks
        return _rejected(STATUS_OF_CODE.get(error.code, 400), command_id,
                         error.as_dict() | {"message": str(error)})
    if answer["status"] == "accepted":  # what a read may wait for (``read_after``)
        answer["at_least"] = mark_of(answer["ticket_id"], answer["version"])
    if answer.get("error", {}).get("rule") != "command_id_reused":  # the first answer stays
        await run_in_threadpool(ctx.answers.keep, caller.name, answer)
    status = 200 if answer["status"] == "accepted" else STATUS_OF_CODE.get(answer["error"]["error"], 400)
    return JSONResponse(answer, status_code=status)


@router.get("/commands/{command_id}", summary="The last answer to a command this caller sent")
def answer_route(request: Request, caller: AnswerReader, command_id: str,
                 sender: Annotated[str | None, Query(
                     max_length=128, description="whose command (roles that read every answer)"
                 )] = None) -> JSONResponse:
    everyone = caller.may(Permission.ALL_ANSWERS)
    ctx = context_of(request)
    found = None
    if everyone or sender in (None, caller.name):
        found = ctx.answers.find(command_id, sender if everyone else caller.name)
    if found is not None and found[0] != caller.name and not caller.desks.every and not \
            caller.desks.covers_number(found[1].get("ticket_number"), ctx.desk.catalogue):
        found = None  # someone else's answer, not shown to be about one of the caller's desks
    if found is None:
        raise ApiError(404, "not_found", f"no answer to command {command_id!r} for {caller.name}",
                       field="command_id", rule="known_command")
    return JSONResponse(found[1])
