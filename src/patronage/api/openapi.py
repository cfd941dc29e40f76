"""The OpenAPI schema, made true about 422 answers.

FastAPI documents a 422 as a list of field errors. Patronage also answers 422 with one
sentence when a value is well-formed but refused by a rule (an unsupported currency, an
amount below the minimum), so the schema says `detail` is either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi


def openapi_with_sentence_422s(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
            if error is not None:
                field_errors = {
                    k: v for k, v in error["properties"]["detail"].items() if k != "title"
                }
                error["properties"]["detail"] = {
                    "title": "Detail",
                    "description": "field errors, or one sentence saying which rule refused it",
                    "anyOf": [field_errors, {"type": "string"}],
                }
            _document_shared_answers(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _document_shared_answers(schema: dict[str, Any]) -> None:
    """Answers any operation may give: 503 while the database is unavailable (api/errors.py),
    and 413 for a body over its limit (api/inputs.py)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "503", {"description": "the database is unavailable: try again shortly"}
            )
            if "requestBody" in operation:
                responses.setdefault("413", {"description": "the body is larger than allowed"})
