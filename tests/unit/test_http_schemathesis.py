"""The OpenAPI document holds: generated requests, per role, get no 500 and no undocumented status.

A bounded run of schemathesis (the full run and its figures are in docs/http.md) over the app in
process. The change stream is left out: it never ends.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.unit.http_rig import ROLES, HttpRig, make_rig
from tickets.application.commands import FIELDS
from tickets.domain.catalogue import Catalogue
from tickets.domain.scope import DeskScope


@pytest.fixture(scope="module")
def rig(catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory) -> HttpRig:
    rig = make_rig(catalogue, Path(tmp_path_factory.mktemp("schemathesis")))
    for role in ("agent", "auditor"):  # on one desk: another desk's tickets answer as unknown ones
        rig.tokens[f"{role}@zoom"] = rig.ctx.tokens.create(f"{role}-zoom", role,
                                                           DeskScope(frozenset({"zoom"})))
    rig.open("o365")  # a ticket the desk-scoped tokens do not see
    return rig


@pytest.mark.parametrize("role", [*ROLES, "agent@zoom", "auditor@zoom"])
def test_generated_requests_get_no_server_error_and_no_undocumented_status(
    rig: HttpRig, role: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/openapi.json", rig.client.app)
    operations = schema.exclude(path="/api/stream")
    strategy = operations.as_strategy(headers=rig.auth(role))

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error, status_code_conformance])

    run()


def test_the_command_body_is_described_per_type(rig: HttpRig) -> None:
    document = rig.client.get("/openapi.json").json()
    body = document["paths"]["/api/commands"]["post"]["requestBody"]["content"]
    kinds = {ref["$ref"].removeprefix("#/components/schemas/Command_")
             for ref in body["application/json"]["schema"]["oneOf"]}
    assert kinds == set(FIELDS)  # every type the parser takes, and no other
    escalate = document["components"]["schemas"]["Command_escalate"]
    assert set(escalate["required"]) == {"type", "ticket", "reason"}
    assert escalate["additionalProperties"] is False
    answered = document["paths"]["/api/commands"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "413", "422"} <= set(answered)
    assert "HTTPValidationError" not in document["components"]["schemas"]

