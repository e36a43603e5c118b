"""Webhooks in: the intake's Lambda function URL, ``POST <url>webhooks/{connectionId}``.

Auth type NONE: providers cannot sign requests with SigV4, and every delivery is authenticated by
the provider's signature over the raw body, verified by the intake. The URL hands the intake
every path and method of its host; the intake answers anything but ``POST /webhooks/{id}`` with
404 or 405. No CORS: providers post from their servers, never from a browser. The intake's
reserved concurrency (``HubFunctions``) bounds the URL; beyond it the URL answers 429.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants as c


class WebhookUrl(Construct):
    """The intake's function URL; ``base_url`` is what a connection's id is appended to."""

    def __init__(self, scope: Construct, construct_id: str, *, intake: lambda_.Function) -> None:
        super().__init__(scope, construct_id)
        self.function_url = lambda_.FunctionUrl(
            self, "Url", function=intake, auth_type=lambda_.FunctionUrlAuthType.NONE
        )

    @property
    def url(self) -> str:
        """``https://<url-id>.lambda-url.<region>.on.aws/`` (with its trailing slash)."""
        return self.function_url.url

    @property
    def base_url(self) -> str:
        return f"{self.url}{c.WEBHOOK_PATH}/"
