"""The REST API: routes, integrations, stage settings, usage plan."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.template import Synthesized, function_id


def _paths(synthesized: Synthesized) -> dict[str, str]:
    """Resource logical id -> full path, rebuilt from PathPart/ParentId."""
    resources = synthesized.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(resource_id: str) -> str:
        if resource_id not in paths:
            props = resources[resource_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[resource_id] = f"{prefix}/{props['PathPart']}"
        return paths[resource_id]

    for resource_id in resources:
        path_of(resource_id)
    return paths


def _routes(synthesized: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    paths = _paths(synthesized)
    routes = {}
    for method in synthesized.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        path = paths[props["ResourceId"]["Ref"]] if "Ref" in props["ResourceId"] else "/"
        routes[(props["HttpMethod"], path)] = props
    return routes


def _integrated_function(method: dict[str, Any]) -> str:
    uri = method["Integration"]["Uri"]["Fn::Join"][1]
    (target,) = [part["Fn::GetAtt"][0] for part in uri if isinstance(part, dict) and "Fn::GetAtt" in part]
    return target


EXPECTED_ROUTES = {
    ("POST", "/webhooks/{connectionId}"): "Intake",
    ("GET", "/api/v1/events"): "Query",
    ("GET", "/api/v1/events/{proxy+}"): "Query",
    ("GET", "/openapi.json"): "Query",
    ("GET", "/docs"): "Query",
    ("GET", "/console"): "Query",
    ("GET", "/console/{proxy+}"): "Query",
}


def test_api_has_exactly_the_hub_routes(synthesized: Synthesized) -> None:
    assert set(_routes(synthesized)) == set(EXPECTED_ROUTES)


@pytest.mark.parametrize(("route", "function"), EXPECTED_ROUTES.items(), ids=lambda v: str(v))
def test_each_route_is_a_lambda_proxy_to_its_function(
    synthesized: Synthesized, route: tuple[str, str], function: str
) -> None:
    method = _routes(synthesized)[route]
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert method["Integration"]["IntegrationHttpMethod"] == "POST"
    assert _integrated_function(method) == function_id(synthesized, function)
    assert method["RequestValidatorId"] == {
        "Ref": synthesized.logical_id("HubApiValidator", "AWS::ApiGateway::RequestValidator")
    }


def test_path_parameters_are_required_by_the_validator(synthesized: Synthesized) -> None:
    routes = _routes(synthesized)
    assert routes[("POST", "/webhooks/{connectionId}")]["RequestParameters"] == {
        "method.request.path.connectionId": True
    }
    assert routes[("GET", "/api/v1/events/{proxy+}")]["RequestParameters"] == {
        "method.request.path.proxy": True
    }
    (validator,) = synthesized.of_type("AWS::ApiGateway::RequestValidator").values()
    assert validator["Properties"]["ValidateRequestParameters"] is True


def test_json_bodies_pass_as_text_and_only_declared_binary_is_base64(synthesized: Synthesized) -> None:
    (api,) = synthesized.of_type("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["BinaryMediaTypes"] == ["application/octet-stream"]


def test_stage_logs_access_traces_and_throttles(synthesized: Synthesized) -> None:
    (stage,) = synthesized.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    destination = props["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
    assert {"Ref": synthesized.logical_id("HubApiAccessLogs", "AWS::Logs::LogGroup")} in destination
    assert "$context.requestId" in props["AccessLogSetting"]["Format"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in props["MethodSettings"]}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] > 0
    assert settings[("/*", "*")]["ThrottlingBurstLimit"] > 0
    webhook = settings[("/~1webhooks~1{connectionId}", "POST")]
    assert 0 < webhook["ThrottlingRateLimit"] <= settings[("/*", "*")]["ThrottlingRateLimit"]


def test_usage_plan_throttles_and_sets_a_quota_on_the_stage(synthesized: Synthesized) -> None:
    (plan,) = synthesized.of_type("AWS::ApiGateway::UsagePlan").values()
    props = plan["Properties"]
    assert props["Throttle"]["RateLimit"] > 0 and props["Throttle"]["BurstLimit"] > 0
    assert props["Quota"]["Limit"] > 0 and props["Quota"]["Period"] == "DAY"
    (api_stage,) = props["ApiStages"]
    assert api_stage["ApiId"] == {"Ref": synthesized.logical_id("HubApi", "AWS::ApiGateway::RestApi")}


def test_each_function_is_invokable_only_by_this_api(synthesized: Synthesized) -> None:
    api_id = synthesized.logical_id("HubApi", "AWS::ApiGateway::RestApi")
    permissions = synthesized.of_type("AWS::Lambda::Permission").values()
    api_permissions = [
        p["Properties"] for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(api_permissions) == len(EXPECTED_ROUTES)
    for permission in api_permissions:
        source = permission["SourceArn"]["Fn::Join"][1]
        assert {"Ref": api_id} in source
