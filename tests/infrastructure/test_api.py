"""The REST API (the query side): routes, integrations, stage settings, the account role access
logging needs. Webhooks are not on it (test_webhooks.py)."""

from __future__ import annotations

import json
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
    ("GET", "/api/v1/events"): "Query",
    ("GET", "/api/v1/events/{proxy+}"): "Query",
    ("GET", "/openapi.json"): "Query",
    ("GET", "/docs"): "Query",
    ("GET", "/console"): "Query",
    ("GET", "/console/{proxy+}"): "Query",
}


def test_api_has_exactly_the_hub_routes(synthesized: Synthesized) -> None:
    # When the synthesized API's routes are read
    # Then they are exactly the hub's read routes
    assert set(_routes(synthesized)) == set(EXPECTED_ROUTES)


def test_no_webhook_route_or_intake_integration_is_on_the_rest_api(synthesized: Synthesized) -> None:
    # When the synthesized API's resources and methods are read
    paths = set(_paths(synthesized).values())
    methods = _routes(synthesized)
    # Then no resource is under /webhooks, and every method is a GET to the query function
    assert not any(path.startswith("/webhooks") for path in paths)
    assert {method for method, _ in methods} == {"GET"}
    assert {_integrated_function(m) for m in methods.values()} == {function_id(synthesized, "Query")}
    # And API Gateway may invoke only the query function
    permissions = synthesized.of_type("AWS::Lambda::Permission").values()
    invoked = {
        p["Properties"]["FunctionName"]["Fn::GetAtt"][0]
        for p in permissions
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    assert invoked == {function_id(synthesized, "Query")}


@pytest.mark.parametrize(("route", "function"), EXPECTED_ROUTES.items(), ids=lambda v: str(v))
def test_each_route_is_a_lambda_proxy_to_its_function(
    synthesized: Synthesized, route: tuple[str, str], function: str
) -> None:
    # When one of the hub's routes is read from the synthesized API
    method = _routes(synthesized)[route]
    # Then it proxies the whole request to its function's Lambda
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert method["Integration"]["IntegrationHttpMethod"] == "POST"
    assert _integrated_function(method) == function_id(synthesized, function)
    # And its request validator checks it
    assert method["RequestValidatorId"] == {
        "Ref": synthesized.logical_id("HubApiValidator", "AWS::ApiGateway::RequestValidator")
    }


def test_path_parameters_are_required_by_the_validator(synthesized: Synthesized) -> None:
    # When the synthesized API's routes are read
    routes = _routes(synthesized)
    # Then the event routes declare their path parameters required
    assert routes[("GET", "/api/v1/events/{proxy+}")]["RequestParameters"] == {
        "method.request.path.proxy": True
    }
    # And the API's validator checks request parameters
    (validator,) = synthesized.of_type("AWS::ApiGateway::RequestValidator").values()
    assert validator["Properties"]["ValidateRequestParameters"] is True


def test_json_bodies_pass_as_text_and_only_declared_binary_is_base64(synthesized: Synthesized) -> None:
    # When the synthesized REST API is read
    (api,) = synthesized.of_type("AWS::ApiGateway::RestApi").values()
    # Then only application/octet-stream is treated as binary (JSON stays text)
    assert api["Properties"]["BinaryMediaTypes"] == ["application/octet-stream"]


def test_stage_logs_access_traces_and_throttles(synthesized: Synthesized) -> None:
    # When the synthesized API's stage is read
    (stage,) = synthesized.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    # Then it does not trace requests (observability.tracing is off by default)
    assert props.get("TracingEnabled") in (None, False)
    # And it writes access logs, with the request id, to the API's log group
    destination = props["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
    assert {"Ref": synthesized.logical_id("HubApiAccessLogs", "AWS::Logs::LogGroup")} in destination
    assert "$context.requestId" in props["AccessLogSetting"]["Format"]
    # And it throttles every method, with one stage-wide setting and no per-route ones
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in props["MethodSettings"]}
    assert set(settings) == {("/*", "*")}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] > 0
    assert settings[("/*", "*")]["ThrottlingBurstLimit"] > 0


def test_no_usage_plan_since_no_method_requires_an_api_gateway_key(synthesized: Synthesized) -> None:
    # When the synthesized stack's usage plans and methods are read
    # Then there is no usage plan, and no method requires an API Gateway key
    assert synthesized.of_type("AWS::ApiGateway::UsagePlan") == {}
    assert not any(
        m["Properties"].get("ApiKeyRequired") for m in synthesized.of_type("AWS::ApiGateway::Method").values()
    )


def test_the_api_is_named_after_its_stack(synthesized: Synthesized) -> None:
    # When the synthesized REST API is read
    (api,) = synthesized.of_type("AWS::ApiGateway::RestApi").values()
    # Then it is named after the stack
    assert api["Properties"]["Name"] == "EventHub"


def test_access_logging_deploys_in_a_fresh_account_with_the_account_role_retained(
    synthesized: Synthesized,
) -> None:
    # Given a stage with access logs, which need API Gateway's account-wide CloudWatch role
    (stage,) = synthesized.of_type("AWS::ApiGateway::Stage").values()
    assert "AccessLogSetting" in stage["Properties"]
    # Then the stack sets that role on the account, and keeps it when the stack is deleted
    (account,) = synthesized.of_type("AWS::ApiGateway::Account").values()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]
    assert account["DeletionPolicy"] == role["DeletionPolicy"] == "Retain"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    # And the stage is created after the account setting
    assert {synthesized.logical_id("HubApi", "AWS::ApiGateway::RestApi")} <= set(account["DependsOn"])


def test_an_account_that_already_has_the_role_can_leave_it_alone() -> None:
    # Given the context flag saying the account's API Gateway CloudWatch role is set already
    from infra.app import build_app
    from tests.infrastructure.conftest import EXAMPLE_CONFIG, SKIP_BUNDLING

    context = {**SKIP_BUNDLING, "config": str(EXAMPLE_CONFIG), "apiGatewayAccountRole": "existing"}
    app, stack = build_app(context, nag=False)
    # When the stack is synthesized
    resources = app.synth().get_stack_artifact(stack.artifact_id).template["Resources"]
    # Then it creates neither the account setting nor its role, and still logs access
    types = {r["Type"] for r in resources.values()}
    assert "AWS::ApiGateway::Account" not in types
    assert not any("CloudWatchRole" in name for name in resources)
    (stage,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert "AccessLogSetting" in stage["Properties"]


def test_each_function_is_invokable_only_by_this_api(synthesized: Synthesized) -> None:
    # When the API and the Lambda permissions of the synthesized stack are read
    api_id = synthesized.logical_id("HubApi", "AWS::ApiGateway::RestApi")
    permissions = synthesized.of_type("AWS::Lambda::Permission").values()
    api_permissions = [
        p["Properties"] for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    # Then there is one API Gateway permission per route
    assert len(api_permissions) == len(EXPECTED_ROUTES)
    # And each lets only this API invoke the function
    for permission in api_permissions:
        source = permission["SourceArn"]["Fn::Join"][1]
        assert {"Ref": api_id} in source
