"""The OpenAPI document says what the API really takes and answers.

``POST /api/commands`` reads its body itself (size limit first, then JSON, then
``domain.commands.parse``), so FastAPI cannot see its shape: ``command_body`` writes it from the
same table ``parse`` checks (``domain.commands.FIELDS``), one schema per command type, told apart
by ``type``. ``STATUSES`` lists, per route, every status it answers besides 200; each refusal is
documented with the one refusal shape (``problems``), and FastAPI's default 422 for request
validation is replaced by the 400 the API really answers. A test and the schemathesis run keep
the table honest (docs/http.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tickets.application.commands import COMMON, FIELDS, MAX_COMMAND_ID

_JSON_TYPE = {str: "string", int: "integer", bool: "boolean", dict: "object"}
_PROBLEM = {
    "type": "object", "required": ["error", "message", "field", "rule"],
    "properties": {
        "error": {"type": "string", "description": "a stable code: validation, not_found, ..."},
        "message": {"type": "string"},
        "field": {"type": ["string", "null"], "description": "the field, parameter or header"},
        "rule": {"type": ["string", "null"], "description": "the rule it broke"},
    },
}
_REJECTED = {
    "type": "object", "required": ["command_id", "status", "error"],
    "properties": {"command_id": {"type": ["string", "null"]}, "status": {"const": "rejected"},
                   "error": {"$ref": "#/components/schemas/Problem"}},
}
_ACCEPTED = {
    "type": "object", "required": ["command_id", "status", "ticket_id", "ticket_number", "version",
                                   "duplicate"],
    "properties": {"command_id": {"type": "string"}, "status": {"const": "accepted"},
                   "ticket_id": {"type": "string"}, "ticket_number": {"type": "string"},
                   "version": {"type": "integer"}, "duplicate": {"type": "boolean"}},
}
_WHY = {
    304: "not modified: the If-None-Match ETag is still current",
    400: "invalid request: a parameter, header or body field breaks a rule (field and rule say which)",
    401: "no token, an unknown token, a revoked one, or one issued before tokens named desks",
    403: "the token's role may not do this",
    404: "not found (or not this caller's: another desk's ticket is not found, as an unknown one)",
    409: "conflicts with the ticket's state, a concurrent change, or a command id used for another "
         "command",
    413: "the body is larger than the limit",
    422: "refused by the policy (entitlement) or the time order",
}
_READ = (304, 400, 401, 403)
#: Every status each route answers besides 200.
STATUSES: dict[tuple[str, str], tuple[int, ...]] = {
    ("get", "/api/tickets"): _READ,
    ("get", "/api/tickets/{ref}"): (*_READ, 404),
    ("get", "/api/tickets/{ref}/audit"): (*_READ, 404),
    ("get", "/api/queues"): _READ,
    ("get", "/api/dashboard"): _READ,
    ("get", "/api/stream"): (400, 401, 403),
    ("post", "/api/commands"): (400, 401, 403, 404, 409, 413, 422),
    ("get", "/api/commands/{command_id}"): (400, 401, 403, 404),
    ("post", "/api/privacy/erasures"): (400, 401, 403, 404, 409, 413),
    ("get", "/metrics"): (400,),
}


def command_body() -> dict[str, Any]:
    """The JSON schema of a command message: one of the variants, told apart by ``type``."""
    refs = {kind: f"#/components/schemas/Command_{kind}" for kind in FIELDS}
    return {"oneOf": [{"$ref": ref} for ref in refs.values()],
            "discriminator": {"propertyName": "type", "mapping": refs}}


def command_variants() -> dict[str, dict[str, Any]]:
    """Each command type's own schema, by the component name ``command_body`` refers to."""
    return {f"Command_{kind}": _variant(kind, own) for kind, own in FIELDS.items()}


def _variant(kind: str, own: dict[str, tuple[type, bool]]) -> dict[str, Any]:
    properties: dict[str, Any] = {name: {"type": _JSON_TYPE[t]} for name, t in COMMON.items()}
    properties.update({name: {"type": _JSON_TYPE[t]} for name, (t, _) in own.items()})
    properties["type"] = {"type": "string", "const": kind}
    properties["command_id"] |= {"minLength": 1, "maxLength": MAX_COMMAND_ID,
                                 "description": "the sender's idempotency key (or the "
                                 "Idempotency-Key header)"}
    properties["actor"] |= {"description": "role:id; only a service, and only for a requester "
                            "(customer:<id>)"}
    required = ["type", *(name for name, (_, needed) in own.items() if needed)]
    return {"type": "object", "title": f"{kind} command", "properties": properties,
            "required": required, "additionalProperties": False}


def _responses(statuses: tuple[int, ...], command: bool) -> dict[str, Any]:
    shape = {"$ref": "#/components/schemas/Rejected" if command else "#/components/schemas/Problem"}
    answers: dict[str, Any] = {}
    for status in statuses:
        if status == 304:
            answers["304"] = {"description": _WHY[304]}
            continue
        problem: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}
        if command and status == 400:  # a bad Idempotency-Key header is refused before the body
            problem = {"oneOf": [shape, problem]}
        elif status in (404, 409, 413, 422):
            problem = shape
        answers[str(status)] = {"description": _WHY[status],
                                "content": {"application/json": {"schema": problem}}}
    return answers


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, with the command bodies and every status answered."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(command_variants())
    schemas.update(Problem=_PROBLEM, Rejected=_REJECTED, Accepted=_ACCEPTED)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            command = (method, path) == ("post", "/api/commands")
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses.update(_responses(STATUSES.get((method, path), (400,)), command))
            if command:
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": command_body()}}}
                responses["200"] = {"description": "accepted (duplicate: true when this sender "
                                    "sent this command before)", "content": {
                                        "application/json": {"schema": {
                                            "$ref": "#/components/schemas/Accepted"}}}}
    app.openapi_schema = doc
    return doc


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
