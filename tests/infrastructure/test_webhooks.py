"""Webhooks in: the intake's function URL (auth type NONE), its public invoke permissions, and the
reserved concurrency that bounds it."""

from __future__ import annotations

from typing import Any

import pytest

from infra import constants as c
from infra.stack_config import StackConfigError, intake_concurrency
from tests.infrastructure.template import Synthesized, function_id


def _synth(**context: Any) -> dict[str, dict[str, Any]]:
    from infra.app import build_app
    from tests.infrastructure.conftest import EXAMPLE_CONFIG, SKIP_BUNDLING

    app, stack = build_app({**SKIP_BUNDLING, "config": str(EXAMPLE_CONFIG), **context}, nag=False)
    return app.synth().get_stack_artifact(stack.artifact_id).template["Resources"]


def _target(resource: dict[str, Any], key: str) -> str:
    return str(resource["Properties"][key]["Fn::GetAtt"][0])


def test_the_intake_has_one_function_url_with_auth_type_none_and_no_cors(synthesized: Synthesized) -> None:
    # When the synthesized function URLs are read
    urls = list(synthesized.of_type("AWS::Lambda::Url").values())
    # Then there is one, on the intake's unpublished version, open to unsigned (non-SigV4) requests:
    # providers' signatures are checked by the intake itself
    assert len(urls) == 1
    (url,) = urls
    assert url["Properties"]["AuthType"] == "NONE"
    assert _target(url, "TargetFunctionArn") == function_id(synthesized, "Intake")
    assert "Qualifier" not in url["Properties"]
    # And no CORS: providers post from servers, never from a browser page
    assert "Cors" not in url["Properties"]


def test_only_the_intake_may_be_invoked_by_anyone_and_only_through_its_url(synthesized: Synthesized) -> None:
    # When the Lambda permissions granted to any principal are read
    public = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    ]
    # Then they are the two a NONE function URL needs, both on the intake
    intake = function_id(synthesized, "Intake")
    assert {p["FunctionName"]["Fn::GetAtt"][0] for p in public} == {intake}
    by_action = {p["Action"]: p for p in public}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    # And the plain invoke is granted only for calls that come through the function URL
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True


def test_the_intakes_reserved_concurrency_bounds_its_url_and_no_other_function_reserves(
    synthesized: Synthesized,
) -> None:
    # When the functions' reserved concurrency is read
    functions = synthesized.of_type("AWS::Lambda::Function")
    reserved = {k: f["Properties"].get("ReservedConcurrentExecutions") for k, f in functions.items()}
    # Then the intake reserves the default (its URL takes at most that many deliveries at once and
    # ten times as many per second, and answers 429 beyond), and no other function reserves any
    assert reserved.pop(function_id(synthesized, "Intake")) == c.INTAKE_RESERVED_CONCURRENCY
    assert set(reserved.values()) == {None}


def test_the_intakes_concurrency_is_set_by_context_or_left_unreserved() -> None:
    # When the stack is synthesized with another figure, and with none reserved
    def intake_reserved(resources: dict[str, dict[str, Any]]) -> Any:
        (intake,) = [
            r
            for k, r in resources.items()
            if r["Type"] == "AWS::Lambda::Function" and k.startswith("HubFunctionsIntake")
        ]
        return intake["Properties"].get("ReservedConcurrentExecutions")

    # Then the intake reserves that figure, or nothing (an account whose quota leaves no room)
    assert intake_reserved(_synth(intakeConcurrency="50")) == 50
    assert intake_reserved(_synth(intakeConcurrency="unreserved")) is None


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_a_concurrency_that_is_not_a_positive_whole_number_is_refused(value: str) -> None:
    # When the context names a figure the URL could not run with
    # Then synthesis is refused, saying what to use
    with pytest.raises(StackConfigError, match="unreserved"):
        intake_concurrency(value)
