"""The OpenAPI document with the error answers every API operation can give.

FastAPI documents only what a route declares: its success and the framework's own 422 (a list of
validation errors). The API also answers 401 (no or unknown token), 403 (the role may not use the
route), 404 (no such patient, or one of another site), 409 (a stale version, or a plan not in a
state to approve) and 422 with the application's own `{detail, ...}` body (a clinical rule
refused the values). API fuzzing (tests/web/test_web_api_fuzz.py) checks every response against
this document, so these answers are added here, once, for every operation under /api/v1.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

API_ERROR = {
    "title": "ApiError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "What was refused and why, in one line"},
        "confirmable": {"type": "boolean"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "needs_confirmation": {"type": "boolean"},
                },
            },
        },
        "version": {"type": "integer"},
        "changes": {"type": "array", "items": {"type": "object"}},
    },
}
_REF = {"$ref": "#/components/schemas/ApiError"}
_ANSWERS = {
    "401": "Not signed in: send `Authorization: Bearer <token>` (or the session cookie)",
    "403": "The caller's role may not use this operation",
    "404": "No such patient, or one of a site the caller may not see",
    "409": "Not done: the record changed since `version`, or the plan is not in a state for it",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _document(operation: dict[str, Any], path: str, method: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted = ["401", "403"]
    if "{" in path:
        wanted.append("404")
    if method in ("post", "put") and "{" in path:
        wanted.append("409")
    for status in wanted:
        answer = responses.setdefault(status, {"description": _ANSWERS[status]})
        answer.setdefault("content", _json(_REF))
        answer["content"].setdefault("application/json", {}).setdefault("schema", _REF)
    rejected = responses.get("422")
    if rejected is not None:
        media = rejected.setdefault("content", {}).setdefault("application/json", {})
        framework = media.get("schema")
        media["schema"] = {"anyOf": [framework, _REF]} if framework else _REF


def install(app: FastAPI, prefix: str) -> None:
    """Replace the app's OpenAPI generator by one that adds the error answers to /api routes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        document.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = API_ERROR
        for path, operations in document.get("paths", {}).items():
            if not path.startswith(prefix):
                continue
            for method, operation in operations.items():
                _document(operation, path, method)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
