"""The query side's REST API (API Gateway v1, Lambda proxy integrations).

``HubApi`` owns the API (named after the stack), its stage (access logs, tracing, throttling),
the request validator and, unless the account already has one, API Gateway's account-wide
CloudWatch role that access logging needs. ``QueryApi`` adds the read routes, the OpenAPI
document, the Swagger UI and the console. Webhooks do not come through here: they go to the
intake's function URL (``webhooks.py``; docs/deploy.md says why).

No usage plan: no method requires an API Gateway key (clients authenticate with the hub's own
keys in the query function), so a plan would throttle nothing. The stage is throttled instead.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c


class HubApi(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, create_account_role: bool = True, tracing: bool = False
    ) -> None:
        super().__init__(scope, construct_id)
        self.tracing = tracing
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.create_account_role = create_account_role
        self.rest_api = self._rest_api()
        self.rest_api.node.try_remove_child("Endpoint")  # the stack exports it once, as ApiUrl
        # Required path parameters are checked at the edge. No method declares a body model (every
        # route is a GET).
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        self._suppress_stage_findings()

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _rest_api(self) -> apigw.RestApi:
        # Access logging needs the account's API Gateway CloudWatch role (AWS::ApiGateway::Account);
        # in an account where it was never set the stage fails to create. The stack creates it,
        # retained on delete since it is account-wide, unless -c apiGatewayAccountRole=existing.
        return apigw.RestApi(
            self,
            "Api",
            rest_api_name=Stack.of(self).stack_name,
            description="Event hub: the events API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=c.BINARY_MEDIA_TYPES,
            cloud_watch_role=self.create_account_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if self.create_account_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=c.STAGE_NAME,
                tracing_enabled=self.tracing,
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
            ),
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
                    reason="No WAF web ACL: reads are authenticated by hashed API keys in the query "
                    "function and the stage is throttled. A web ACL can be associated with this REST "
                    "stage directly, by the account's firewall policy (docs/deploy.md).",
                ),
                NagPackSuppression(
                    id="AwsSolutions-APIG6",
                    reason="Execution logging is off on purpose: at INFO it writes request and response "
                    "data (query results) to CloudWatch. Every request is in the JSON "
                    "access log (which uses the account's API Gateway CloudWatch role, as execution "
                    "logging would) and in the functions' structured logs.",
                ),
            ],
            apply_to_children=True,
        )
        if self.create_account_role:
            NagSuppressions.add_resource_suppressions(
                self.rest_api,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM4",
                        reason="API Gateway's account CloudWatch role uses the AWS managed policy "
                        "AmazonAPIGatewayPushToCloudWatchLogs, the policy AWS documents for it; it is "
                        "assumed only by apigateway.amazonaws.com.",
                        applies_to=[
                            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                            "AmazonAPIGatewayPushToCloudWatchLogs"
                        ],
                    )
                ],
                apply_to_children=True,
            )


_QUERY_AUTH = (
    "Reads are authenticated by the query function with X-API-Key or a bearer token, checked against "
    "SHA-256 hashes of the configured keys and scoped to the key's tenant."
)
_PUBLIC_DOCS = (
    "The OpenAPI document, the Swagger UI and the console's static page carry no data; every data "
    "request they make is authenticated by API key in the query function."
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
