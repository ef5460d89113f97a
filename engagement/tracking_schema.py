"""The OpenAPI description of the tracking endpoints (engagement/tracking_api.py).

They are plain Django views, not DRF ones, so drf-spectacular cannot see them:
this module adds their paths, bodies and answers to the generated schema as a
postprocessing hook (named in SPECTACULAR_SETTINGS). What is written here must
match what tracking_api.py serves; tests/api_fuzz/ fuzzes both against each
other.
"""

from __future__ import annotations

from typing import Any

from engagement.urls import KINDS

SECURITY_SCHEME = "writeKey"
TAG = "tracking"

_ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}

# The fields every call may carry (the Segment spec); the server checks each
# call's own needs (an event for track, a groupId for group ...) and refuses a
# call that lacks them with 400 invalid_call (a batch reports it in `refused`).
_COMMON: dict[str, Any] = {
    "type": {"type": "string", "description": "The call's type; required in a batch."},
    "messageId": {"type": "string", "maxLength": 200},
    "userId": {"type": "string", "nullable": True},
    "anonymousId": {"type": "string", "nullable": True},
    "timestamp": {"type": "string", "format": "date-time"},
    "sentAt": {"type": "string", "format": "date-time"},
    "originalTimestamp": {"type": "string", "format": "date-time"},
    "context": _ANY_OBJECT,
    "properties": _ANY_OBJECT,
    "traits": _ANY_OBJECT,
    "integrations": _ANY_OBJECT,
}
_OWN: dict[str, dict[str, Any]] = {
    "track": {"event": {"type": "string"}},
    "page": {"name": {"type": "string"}, "category": {"type": "string"}},
    "screen": {"name": {"type": "string"}, "category": {"type": "string"}},
    "group": {"groupId": {"type": "string"}},
    "alias": {"previousId": {"type": "string"}},
    "identify": {},
}
_WRITE_KEY_FIELD = {
    "writeKey": {
        "type": "string",
        "description": "The source's write key, for clients that cannot send HTTP Basic.",
    }
}

_SUMMARIES = {
    "batch": "Send several calls of any type at once",
    "identify": "Say who a person is and what their traits are",
    "group": "Tie a person to an account (company) and its traits",
    "track": "Record an action a person took",
    "page": "Record a page view",
    "screen": "Record a screen view in an app",
    "alias": "Join a previous identity to a user id",
}


def _call_schema(kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**_COMMON, **_OWN[kind], **_WRITE_KEY_FIELD},
        "additionalProperties": True,
    }


def _components() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        f"Tracking{kind.capitalize()}Call": _call_schema(kind) for kind in KINDS if kind != "batch"
    }
    schemas["TrackingBatch"] = {
        "type": "object",
        "properties": {
            "batch": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        name: schema
                        for kind_fields in (_COMMON, *_OWN.values())
                        for name, schema in kind_fields.items()
                    },
                    "additionalProperties": True,
                },
                "description": "The calls, each with its `type`; at most "
                "TRACKING_MAX_BATCH_CALLS of them.",
            },
            "context": _ANY_OBJECT,
            "integrations": _ANY_OBJECT,
            "sentAt": {"type": "string", "format": "date-time"},
            **_WRITE_KEY_FIELD,
        },
        "required": ["batch"],
        "additionalProperties": True,
    }
    schemas["TrackingAccepted"] = {
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "refused": {
                "type": "array",
                "description": "The calls of a batch that were not stored, and why.",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "messageId": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                    "required": ["index", "messageId", "reason"],
                },
            },
            "duplicates": {
                "type": "integer",
                "description": "Calls whose messageId was already stored (not stored again).",
            },
            "adjusted": {
                "type": "array",
                "description": "Calls stored at another time than they were sent with.",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "messageId": {"type": "string"},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "storedAs": {"type": "string", "format": "date-time"},
                    },
                    "required": ["index", "messageId", "timestamp", "storedAs"],
                },
            },
        },
        "required": ["success"],
    }
    schemas["TrackingError"] = {
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "code": {"type": "string"},
            "message": {"type": "string"},
        },
        "required": ["success", "code", "message"],
    }
    return schemas


def _error(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TrackingError"}}},
    }
    if retry_after:
        answer["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before sending again.",
            }
        }
    return answer


def _operation(kind: str) -> dict[str, Any]:
    body = "TrackingBatch" if kind == "batch" else f"Tracking{kind.capitalize()}Call"
    return {
        "operationId": f"tracking_{kind}",
        "summary": _SUMMARIES[kind],
        "description": (
            "Segment-compatible. Authenticated by HTTP Basic with the source's write key "
            "as user name (no password), or by `writeKey` in the body. The body may be "
            f"gzip-compressed (Content-Encoding: gzip). Also served at /v1/{kind[0]}."
        ),
        "tags": [TAG],
        "security": [{SECURITY_SCHEME: []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        },
        "responses": {
            "200": {
                "description": "The calls were stored (a batch lists those it refused).",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/TrackingAccepted"}
                    }
                },
            },
            "400": _error("The body is not JSON, a batch is not an array, or a call is invalid."),
            "401": _error("The write key is missing, unknown or revoked."),
            "413": _error("The body, or the number of calls in a batch, is over the limit."),
            "415": _error("The Content-Encoding is neither gzip nor identity."),
            "429": _error("Too many requests for this source.", retry_after=True),
            "503": _error("The calls could not be stored now; retry later.", retry_after=True),
        },
    }


def tracking_schema_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add /v1/{kind} for every kind."""
    paths = result.setdefault("paths", {})
    for kind in KINDS:
        paths[f"/v1/{kind}"] = {"post": _operation(kind)}
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(_components())
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "basic",
        "description": "The source's write key as the user name, with an empty password.",
    }
    return result
