"""Checks an answer's body against the OpenAPI schema the server serves
(/api/schema/), for the tests of what the schema documents."""

from __future__ import annotations

from typing import Any

import jsonschema


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type; the rest as is."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def answer_errors(
    schema: dict[str, Any], *, path: str, method: str, status: int, body: Any
) -> list[str]:
    """What in `body` differs from the documented answer (empty when it conforms);
    an undocumented status is itself an error."""
    responses = schema["paths"][path][method.lower()]["responses"]
    if str(status) not in responses:
        return [f"status {status} is not documented for {method} {path}: {sorted(responses)}"]
    documented = responses[str(status)]["content"]["application/json"]["schema"]
    root = {**_json_schema(documented), "components": _json_schema(schema["components"])}
    validator = jsonschema.Draft202012Validator(root)
    return [error.message for error in validator.iter_errors(body)]
