"""The OpenAPI document: generated from the routes, served, committed, and shown offline."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from functions.handlers.query import openapi_json
from tests.integration.query.conftest import Hub

COMMITTED = Path(__file__).resolve().parents[3] / "openapi.json"
REGENERATE = "UPDATE_OPENAPI=1 .venv/bin/pytest tests/integration/query/test_openapi.py"


def test_the_committed_openapi_json_is_current() -> None:
    # Given the OpenAPI document generated from the routes (written over the committed one on request)
    generated = openapi_json() + "\n"
    if os.environ.get("UPDATE_OPENAPI") == "1":
        COMMITTED.write_text(generated, encoding="utf-8")
    # When it is compared with the committed openapi.json
    # Then they are the same document
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == json.loads(generated), (
        f"openapi.json is stale: regenerate it with `{REGENERATE}`"
    )


def test_the_document_names_every_route_its_parameters_and_the_resource_types() -> None:
    # When the OpenAPI document is generated
    document = json.loads(openapi_json())
    paths = document["paths"]
    # Then every query route documents its success, missing-key and invalid-input answers
    for path in (
        "/api/v1/events",
        "/api/v1/events/aggregate",
        "/api/v1/events/correlation/{correlation_id}",
        "/api/v1/events/resource/{resource_type}/{resource_id}",
        "/api/v1/events/stats/by-actor",
        "/api/v1/events/{event_id}",
    ):
        assert set(paths[path]["get"]["responses"]) >= {"200", "401", "422"}, path
    # And the list route names each of its query parameters
    names = {p["name"] for p in paths["/api/v1/events"]["get"]["parameters"]}
    assert names == {
        "event_type", "resource_type", "resource_id", "from", "to", "limit", "offset", "cursor",
        "source", "source_event_id",
    }  # fmt: skip
    # And its limit's bounds and default
    limit = next(p for p in paths["/api/v1/events"]["get"]["parameters"] if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 100)
    # And the served event carries the provenance fields
    event = document["components"]["schemas"]["Event"]
    assert {"source", "sourceEventId", "channel", "receivedAt"} <= set(event["required"])
    assert document["components"]["schemas"]["Channel"]["enum"] == ["webhook", "poll"]
    # And the resource types are enumerated
    kinds = document["components"]["schemas"]["ResourceType"]["enum"]
    assert {"action_run", "template", "classify_run", "webset", "analysis", "monitor"} <= set(kinds)
    # And the key can be carried as X-API-Key, as a bearer token or as VAI's token
    schemes = document["components"]["securitySchemes"]
    carriers = {s.get("name") or s.get("scheme") for s in schemes.values()}
    assert carriers == {"X-API-Key", "bearer", "vai_token"}


def test_openapi_json_and_the_swagger_ui_are_served_without_a_key(hub: Hub) -> None:
    # When the OpenAPI document is asked for without a key
    status, body = hub.get("/openapi.json", key=None)
    # Then it is served, the same as generated
    assert status == 200
    assert body == json.loads(openapi_json())
    # When the docs page is asked for without a key
    status, page = hub.get("/docs", key=None)
    # Then the Swagger UI is served, for the query routes
    assert status == 200
    assert "SwaggerUIBundle" in page and "/api/v1/events/stats/by-actor" in page
    # And its script and styles are inlined: nothing is fetched from a CDN
    assert not re.search(r"<(script|link)[^>]+(src|href)=['\"]https?://", page)
