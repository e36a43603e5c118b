"""The answers a query route documents in OpenAPI: its model, 401, 422, and 404 where it has one."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.models.api import ErrorBody, ValidationErrorBody


def responses(
    model: type | None, description: str, *, not_found: str = "", status: int = 200
) -> dict[int, OpenAPIResponse]:
    found: dict[int, OpenAPIResponse] = {
        status: {"description": description},
        401: {
            "description": "missing or invalid API key",
            "content": {"application/json": {"model": ErrorBody}},
        },
        422: {
            "description": "invalid parameter",
            "content": {"application/json": {"model": ValidationErrorBody}},
        },
    }
    if model is not None:
        found[status]["content"] = {"application/json": {"model": model}}
    if not_found:
        found[404] = {"description": not_found, "content": {"application/json": {"model": ErrorBody}}}
    return found
