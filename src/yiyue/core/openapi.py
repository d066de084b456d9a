"""The OpenAPI document as the API really answers: what FastAPI generates, with its leftovers fixed.

- A 422 is ``{code, message, detail}`` (``ErrorOut``) everywhere: FastAPI's own ``HTTPValidationError``
  (``{"detail": [...]}``), which the app never sends, is replaced wherever a route did not declare its
  422 itself, and an operation that takes input declares ``VALIDATION_ERROR`` even when it forgot.
- ``Idempotency-Key`` is required where a route refuses to run without it (the booking POST answers 400
  ``IDEMPOTENCY_KEY_REQUIRED``): the parameter is optional in Python only so that its absence gets that
  answer instead of a bare 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from yiyue.core.errors import ErrorOut, InvalidInput, responses

REQUIRED_HEADERS = {"Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 100}}
"""Headers that are required wherever a route takes them, with the schema they are held to."""

_FASTAPI_422 = ("HTTPValidationError", "ValidationError")
_ERROR_OUT_REF = {"$ref": "#/components/schemas/ErrorOut"}


def install(app: FastAPI) -> None:
    """Makes ``app.openapi()`` (and ``/openapi.json``) the document as the API answers."""

    generate = app.openapi  # FastAPI's, which caches its document in app.openapi_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            contract(generate())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def contract(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every 422 an ``ErrorOut`` and the required headers required (in place; returned)."""
    declared_422 = _validation_response()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = operation["responses"]
            current = answers.get("422")
            takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
            if (current is None and takes_input) or (current is not None and _is_fastapis(current)):
                answers["422"] = declared_422
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") in REQUIRED_HEADERS:
                    parameter["required"] = True
                    parameter["schema"] = dict(REQUIRED_HEADERS[parameter["name"]])
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_422:
        components.pop(name, None)
    components.setdefault("ErrorOut", ErrorOut.model_json_schema())
    return schema


def _is_fastapis(answer: dict[str, Any]) -> bool:
    ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return str(ref).endswith("/HTTPValidationError")


def _validation_response() -> dict[str, Any]:
    entry = responses(InvalidInput)[422]
    content = entry["content"]["application/json"]
    return {
        "description": entry["description"],
        "content": {"application/json": {"schema": dict(_ERROR_OUT_REF), "examples": content["examples"]}},
        **{key: value for key, value in entry.items() if key.startswith("x-")},
    }
