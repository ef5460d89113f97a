"""Proof 1 of issue 18: schemathesis fuzzes every operation of the OpenAPI schema
against a live server, as one principal, and counts what went wrong.

Three things are counted per principal (each must be 0):
- server errors: any 5xx. The database is up during the run, so even a 503
  (documented for a database outage) would hide a failure here;
- schema violations: an answer whose status code is not documented for the
  operation, whose content type or headers differ from the documented ones, or
  whose body does not conform to the documented schema (schemathesis's checks);
- unauthorised successes: a 2xx to a principal without the right: a write key
  or nobody on /api/, a user token or nobody on /v1/, a user without the
  model permission its role grants on a campaigns, programs, spend, plans or
  opportunities read or write (RESOURCE_PERMISSIONS).

Examples per operation: FUZZ_EXAMPLES (default 5 in the suite): valid and
invalid inputs (schemathesis's positive and negative modes), and for an
operation on one object, a seeded object's id half the time.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

USERS = ("marketer", "sales", "executive")
WRITE_KEY = "write_key"
ANONYMOUS = "anonymous"
PRINCIPALS = (*USERS, WRITE_KEY, ANONYMOUS)

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def examples_per_operation() -> int:
    return max(2, int(os.environ.get("FUZZ_EXAMPLES", "5")))


@dataclass
class FuzzResult:
    principal: str
    operations: int = 0
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    unauthorised: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [*self.server_errors, *self.violations, *self.unauthorised]


def principal_headers(principal: str, *, tokens: dict[str, str], write_key: str) -> dict[str, str]:
    if principal in USERS:
        return {"Authorization": f"Token {tokens[principal]}"}
    if principal == WRITE_KEY:
        basic = base64.b64encode(f"{write_key}:".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    return {}


# The REST resources whose reads and writes need the model's permission (the
# role grants of the migrations): /api/<resource>/ and /api/<resource>/{id}/.
RESOURCE_PERMISSIONS = {
    "campaigns": "campaigns.{}_campaign",
    "programs": "campaigns.{}_program",
    "spend": "campaigns.{}_spend",
    "pipeline-plans": "campaigns.{}_pipelineplan",
    "opportunities": "accounts.{}_opportunity",
}
ACTIONS = {"GET": "view", "POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def may_succeed(principal: str, method: str, path: str, permissions: frozenset[str]) -> bool:
    """Whether `principal`, holding `permissions`, may get a 2xx for `method` on `path`."""
    if path.startswith("/v1/"):
        return principal == WRITE_KEY
    if principal not in USERS:
        return False
    parts = path.strip("/").split("/")  # api, resource[, {id}]
    if len(parts) <= 3 and parts[1] in RESOURCE_PERMISSIONS:
        return RESOURCE_PERMISSIONS[parts[1]].format(ACTIONS[method.upper()]) in permissions
    return True


def _describe(case: Any, response: requests.Response) -> str:
    raw = response.request.body or b""
    sent = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    kind = response.request.headers.get("Content-Type", "")
    kind = kind.decode() if isinstance(kind, bytes) else kind
    body = response.text[:300].replace("\n", " ")
    return (
        f"{case.operation.label}: {response.request.method} {response.request.url} "
        f"[{kind}] {sent[:300]!r} "
        f"-> {response.status_code} {body}"
    )


def _case_strategy(operation: Any, real_ids: dict[str, int]) -> st.SearchStrategy[Any]:
    """Valid and invalid inputs; for a path naming an object, sometimes a real id."""
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if [p.name for p in operation.path_parameters] == ["id"]:
        real_id = real_ids.get(operation.path.split("/")[2])
        if real_id is not None:
            # Half the cases: a seeded object, which answers more than 404.
            real = operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE, path_parameters={"id": real_id}
            )
            strategies += [real, real]
    return st.one_of(strategies)


def _check(
    case: Any,
    response: requests.Response,
    *,
    result: FuzzResult,
    headers: dict[str, str],
    permissions: frozenset[str],
) -> None:
    label = _describe(case, response)
    if response.status_code >= 500:
        result.server_errors.append(label)
        return
    allowed = may_succeed(result.principal, case.method, case.operation.path, permissions)
    if 200 <= response.status_code < 300 and not allowed:
        result.unauthorised.append(label)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        result.violations.extend(
            f"{label}\n    {failure.title}: {failure.message[:300]}" for failure in group.exceptions
        )
    except AssertionError as failure:
        result.violations.append(f"{label}\n    {failure}"[:600])


def _fuzz_operation(
    operation: Any,
    *,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    real_ids: dict[str, int],
    examples: int,
    result: FuzzResult,
    permissions: frozenset[str],
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_case_strategy(operation, real_ids))
    def send(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        result.requests += 1
        _check(case, response, result=result, headers=headers, permissions=permissions)

    send()


def fuzz(
    *,
    schema: dict[str, Any],
    base_url: str,
    principal: str,
    headers: dict[str, str],
    real_ids: dict[str, int],
    examples: int,
    permissions: frozenset[str] = frozenset(),
) -> FuzzResult:
    """Send `examples` generated requests to every operation as `principal`
    (a user holding `permissions`)."""
    result = FuzzResult(principal=principal)
    operations = []
    for outcome in from_dict(schema).get_all_operations():
        if isinstance(outcome, Err):
            raise outcome.err()  # the schema itself is invalid
        operations.append(outcome.ok())
    # Deletions last: a campaign deleted early would take the seeded programs
    # and spend with it, and their operations would only ever answer 404.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    with requests.Session() as session:
        for operation in operations:
            result.operations += 1
            _fuzz_operation(
                operation,
                base_url=base_url,
                session=session,
                headers=headers,
                real_ids=real_ids,
                examples=examples,
                result=result,
                permissions=permissions,
            )
    return result
