"""One REST API (API Gateway v1, Lambda proxy integrations) with two sets of routes.

``HubApi`` owns the API, its stage (access logs, tracing, throttling), the request validator and
the usage plan. ``WebhookApi`` adds ``POST /webhooks/{connectionId}``; ``QueryApi`` adds the
read routes, the OpenAPI document, the Swagger UI and the console.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c


class HubApi(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = self._rest_api()
        self.rest_api.node.try_remove_child("Endpoint")  # the stack exports it once, as ApiUrl
        # Required path parameters are checked at the edge. No method declares a body model: a
        # signed webhook body must reach intake byte-exact, and functions answer a malformed body.
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        self.usage_plan = self._usage_plan()
        self._suppress_stage_findings()

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _rest_api(self) -> apigw.RestApi:
        return apigw.RestApi(
            self,
            "Api",
            description="Event hub: provider webhooks in, the events API out",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=c.BINARY_MEDIA_TYPES,
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=c.STAGE_NAME,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                throttling_rate_limit=c.STAGE_RATE_LIMIT,
                throttling_burst_limit=c.STAGE_BURST_LIMIT,
                method_options={
                    f"/{c.WEBHOOK_PATH}/{{connectionId}}/POST": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=c.WEBHOOK_RATE_LIMIT,
                        throttling_burst_limit=c.WEBHOOK_BURST_LIMIT,
                    )
                },
            ),
        )

    def _usage_plan(self) -> apigw.UsagePlan:
        return self.rest_api.add_usage_plan(
            "UsagePlan",
            description="Throttle and daily quota for API clients identified by an API Gateway key",
            throttle=apigw.ThrottleSettings(
                rate_limit=c.USAGE_PLAN_RATE_LIMIT, burst_limit=c.USAGE_PLAN_BURST_LIMIT
            ),
            quota=apigw.QuotaSettings(limit=c.USAGE_PLAN_DAILY_QUOTA, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )

    def add_route(
        self,
        path: str,
        method: str,
        function: lambda_.IFunction,
        *,
        path_parameters: tuple[str, ...] = (),
        auth_reason: str,
    ) -> apigw.Method:
        resource = self.rest_api.root.resource_for_path(path)
        created = resource.add_method(
            method,
            apigw.LambdaIntegration(function, proxy=True, allow_test_invoke=False),
            authorization_type=apigw.AuthorizationType.NONE,
            request_validator=self.validator,
            request_parameters={f"method.request.path.{name}": True for name in path_parameters},
        )
        NagSuppressions.add_resource_suppressions(
            created,
            [
                NagPackSuppression(id="AwsSolutions-APIG4", reason=auth_reason),
                NagPackSuppression(id="AwsSolutions-COG4", reason=auth_reason),
            ],
        )
        return created

    def _suppress_stage_findings(self) -> None:
        NagSuppressions.add_resource_suppressions(
            self.rest_api,
            [
                NagPackSuppression(
                    id="AwsSolutions-APIG3",
                    reason="No WAF web ACL: webhooks are authenticated by provider signatures and reads "
                    "by hashed API keys in the functions, and the stage, the webhook route and the "
                    "usage plan are throttled. A web ACL can be associated with the stage by the "
                    "account's firewall policy.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-APIG6",
                    reason="Execution logging needs the account-wide API Gateway CloudWatch role, which "
                    "this stack does not own; every request is in the JSON access log and in the "
                    "functions' structured logs.",
                ),
            ],
            apply_to_children=True,
        )


_WEBHOOK_AUTH = (
    "Webhooks are authenticated by the provider's signature over the raw body (HMAC, constant-time, "
    "replay window), verified by the intake function; providers cannot use IAM or Cognito."
)
_QUERY_AUTH = (
    "Reads are authenticated by the query function with X-API-Key or a bearer token, checked against "
    "SHA-256 hashes of the configured keys and scoped to the key's tenant."
)
_PUBLIC_DOCS = (
    "The OpenAPI document, the Swagger UI and the console's static page carry no data; every data "
    "request they make is authenticated by API key in the query function."
)


class WebhookApi(Construct):
    """``POST /webhooks/{connectionId}`` -> intake."""

    def __init__(
        self, scope: Construct, construct_id: str, *, api: HubApi, intake: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self.method = api.add_route(
            f"/{c.WEBHOOK_PATH}/{{connectionId}}",
            "POST",
            intake,
            path_parameters=("connectionId",),
            auth_reason=_WEBHOOK_AUTH,
        )


class QueryApi(Construct):
    """The events API, ``/openapi.json``, ``/docs`` and ``/console`` -> query."""

    ROUTES: tuple[tuple[str, tuple[str, ...], str], ...] = (
        ("/api/v1/events", (), _QUERY_AUTH),
        ("/api/v1/events/{proxy+}", ("proxy",), _QUERY_AUTH),
        ("/openapi.json", (), _PUBLIC_DOCS),
        ("/docs", (), _PUBLIC_DOCS),
        ("/console", (), _PUBLIC_DOCS),
        ("/console/{proxy+}", ("proxy",), _PUBLIC_DOCS),
    )

    def __init__(self, scope: Construct, construct_id: str, *, api: HubApi, query: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        self.methods = [
            api.add_route(path, "GET", query, path_parameters=params, auth_reason=reason)
            for path, params, reason in self.ROUTES
        ]
