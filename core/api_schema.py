"""The error answers every /api/ operation can give, added to the OpenAPI schema.

drf-spectacular documents an operation's success and the errors a view declares;
the answers DRF and core/api_errors.py give on the way in (403 for a missing or
wrong credential or role, 404 for an unknown id, page or format, 400 for invalid input, 503 with
Retry-After when the database is down) are added here, by a postprocessing hook
named in SPECTACULAR_SETTINGS, so that the schema lists every answer served.
"""

from __future__ import annotations

from typing import Any

from core.api_errors import RETRY_AFTER_SECONDS

ERROR = "Error"
VALIDATION_ERROR = "ValidationError"

_METHODS = ("get", "put", "patch", "post", "delete")

ERROR_SCHEMAS: dict[str, Any] = {
    ERROR: {
        "type": "object",
        "description": "DRF's error body: what went wrong, in words.",
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "`unavailable` on a 503."},
        },
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "description": (
            "DRF's validation error: each invalid field (or `non_field_errors`, or "
            "`detail`) with its messages, or a list of messages."
        ),
        "anyOf": [
            {"type": "object", "additionalProperties": True},
            {"type": "array", "items": {"type": "string"}},
        ],
    },
}


def _answer(description: str, schema: str, *, csv: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    }
    if csv:
        # `?format=csv` renders the error in CSV too (DRF picks the renderer first).
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _renders_csv(operation: dict[str, Any]) -> bool:
    """An operation with DRF's `?format=` (csv or json), which answers 404 to
    any other format."""
    return _query(operation, "format")


def _query(operation: dict[str, Any], name: str) -> bool:
    return any(
        p.get("in") == "query" and p.get("name") == name for p in operation.get("parameters", [])
    )


def _takes_input(operation: dict[str, Any]) -> bool:
    parameters = operation.get("parameters", [])
    return "requestBody" in operation or any(
        p.get("in") == "query" and p.get("name") != "format" for p in parameters
    )


def _names_an_object(operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "path" for p in operation.get("parameters", []))


def api_error_responses_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document 400/403/404/503 on /api/."""
    unavailable = _answer("The database is unavailable; retry later.", ERROR)
    unavailable["headers"] = {
        "Retry-After": {
            "schema": {"type": "integer"},
            "description": f"Seconds to wait before retrying ({RETRY_AFTER_SECONDS}).",
        }
    }
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            csv = _renders_csv(operation)
            if _takes_input(operation):
                responses.setdefault(
                    "400", _answer("The input is invalid.", VALIDATION_ERROR, csv=csv)
                )
            responses.setdefault(
                "403",
                _answer(
                    "Not signed in, an invalid token, or the role may not do this.",
                    ERROR,
                    csv=csv,
                ),
            )
            # An unknown id, a `?page=` past the last page, an unknown `?format=`.
            if _names_an_object(operation) or _query(operation, "page") or csv:
                responses.setdefault(
                    "404", _answer("No such object, page or format.", ERROR, csv=csv)
                )
            responses.setdefault("503", unavailable)
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    return result
