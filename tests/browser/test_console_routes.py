"""GET /console and its assets through the query handler, and what the shipped files may contain."""

from __future__ import annotations

import re
from typing import Any

import pytest

from eventhub.local.proxy_events import proxy_event
from eventhub.local.routes import ROUTES
from functions.console import CONTENT_TYPES, PAGE, asset


def get(path: str, lambda_context: Any, headers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    from functions.handlers import query

    route = next(r for r in ROUTES if r.match(path) is not None)
    event = proxy_event(
        method="GET",
        raw_path=path,
        headers=headers or [("Host", "127.0.0.1:3000")],
        body=b"",
        route=route,
        path_parameters=route.match(path) or {},
    )
    return query.handler(event, lambda_context)


def header(response: dict[str, Any], name: str) -> str:
    merged = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        merged.setdefault(key.lower(), values[0])
    return merged.get(name.lower(), "")


def test_the_console_page_is_served_without_a_key_and_only_runs_its_own_scripts(
    lambda_env: Any, lambda_context: Any
) -> None:
    # When the console page is asked for without an API key
    response = get("/console", lambda_context)

    # Then it is served as HTML
    assert response["statusCode"] == 200
    assert header(response, "Content-Type").startswith("text/html")
    # And its policy lets it run only its own scripts, and nothing is sniffed
    policy = header(response, "Content-Security-Policy")
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert header(response, "X-Content-Type-Options") == "nosniff"
    # And it loads the console's script
    assert 'src="console/app.js"' in response["body"]


@pytest.mark.parametrize("name", sorted(set(CONTENT_TYPES) - {PAGE}))
def test_every_console_asset_is_served_with_its_content_type(
    name: str, lambda_env: Any, lambda_context: Any
) -> None:
    # When a console asset is asked for
    response = get(f"/console/{name}", lambda_context)

    # Then it is served with its own content type and its shipped bytes
    assert response["statusCode"] == 200
    assert header(response, "Content-Type") == CONTENT_TYPES[name]
    assert response["body"] == asset(name).decode()


@pytest.mark.parametrize(
    "path", ["/console/config.json", "/console/__init__.py", "/console/..%2Fsettings.py"]
)
def test_anything_else_under_console_is_not_found(path: str, lambda_env: Any, lambda_context: Any) -> None:
    # When a path under /console that is not a console file is asked for
    response = get(path, lambda_context)

    # Then it is not found, and no source is disclosed
    assert response["statusCode"] == 404
    assert "import" not in response["body"]


def test_every_module_the_console_imports_is_one_it_serves() -> None:
    # Given the console's scripts
    scripts = [name for name in CONTENT_TYPES if name.endswith(".js")]
    # When the modules they import are read from their source
    imports = [
        (name, imported)
        for name in scripts
        for imported in re.findall(
            r"""(?:\bfrom|\bimport)\s*\(?\s*["']\./([^"']+)["']""", asset(name).decode()
        )
    ]
    # Then the scripts do import modules
    assert imports, f"no relative import found in {scripts}"
    # And every module imported is one the console serves
    for name, imported in imports:
        assert imported in CONTENT_TYPES, f"{name} imports {imported}, which is not served"


def test_console_code_never_parses_markup_or_loads_from_elsewhere() -> None:
    # Provider data reaches the page as text nodes only, and nothing is fetched from a CDN.
    # Given every file the console ships
    for name in CONTENT_TYPES:
        # When its text is read
        text = asset(name).decode()
        # Then it uses no sink that parses markup or runs strings as code
        sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")
        for sink in sinks:
            assert sink not in text, f"{name} uses {sink}"
        # And it refers to no URL elsewhere (the SVG namespace aside)
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, f"{name} refers to {urls}"


def test_without_the_console_package_the_api_still_answers_and_console_says_why(
    lambda_env: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function bundled without functions.console (import fails)
    import sys

    monkeypatch.setitem(sys.modules, "functions.console", None)

    # When the console page and an API route are asked for
    response = get("/console", lambda_context)
    api = get("/api/v1/events/0b7e7a52-1d55-5b0e-9a7f-2f3e4c5d6e7f", lambda_context)

    # Then the console answers 503 and names the missing package
    assert response["statusCode"] == 503
    assert "functions.console" in response["body"]
    # And the API still answers (401: no key sent)
    assert api["statusCode"] == 401  # the API itself is unaffected (no key sent)
