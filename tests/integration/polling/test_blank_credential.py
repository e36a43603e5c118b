"""A poll connection whose credential reads back blank from Secrets Manager stops before any request."""

from __future__ import annotations

from dataclasses import replace

import pytest

from eventhub.demo import KlaviFake
from functions.adapters.secrets import SecretResolver
from functions.errors import SecretsUnavailable
from functions.logic.polling import PollServices
from functions.models.config import HubConfig
from functions.observability import metrics
from tests.integration.polling.conftest import TENANT, run, stored_source_ids


def test_blank_credential_from_the_manager_stops_the_run_before_any_request(
    klavi: KlaviFake, services: PollServices, aws
) -> None:
    # Given a Klavi pull connection whose secretKey, in Secrets Manager, reads back blank
    klavi.enqueue(2)
    poll = {"baseUrl": klavi.url, "secretKey": {"secretsManager": "eventhub/klavi"}}
    connection = {"id": "klavi-pull", "provider": "klavi", "tenantId": TENANT, "poll": poll}
    config = HubConfig.model_validate({"connections": [connection]})
    blank = replace(services, secrets=SecretResolver(fetch=lambda name: "  "))
    metrics.clear_metrics()
    # When a run starts
    with pytest.raises(SecretsUnavailable):
        run("klavi-pull", config, blank)
    # Then Klavi was never asked (no blank secretKey went out), nothing was pulled, and it is counted
    assert klavi.requests == [] and stored_source_ids(aws, "klavi") == []
    assert metrics.metric_set["SecretBlank"]["Value"] == [1.0]
    metrics.clear_metrics()
