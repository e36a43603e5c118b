"""SnapStart on the query function: off by default, on with -c querySnapStart=on, and then the API
invokes a published version through an alias."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import constants as c
from infra.stack_config import StackConfigError, query_snap_start
from tests.infrastructure.template import Synthesized


def _synth(**context: Any) -> dict[str, dict[str, Any]]:
    from infra.app import build_app
    from tests.infrastructure.conftest import EXAMPLE_CONFIG, SKIP_BUNDLING

    app, stack = build_app({**SKIP_BUNDLING, "config": str(EXAMPLE_CONFIG), **context}, nag=False)
    return app.synth().get_stack_artifact(stack.artifact_id).template["Resources"]


def _of_type(resources: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in resources.items() if r["Type"] == resource_type}


def test_no_function_has_snap_start_by_default(synthesized: Synthesized) -> None:
    # When the default stack's functions are read
    functions = synthesized.of_type("AWS::Lambda::Function").values()
    # Then none has SnapStart, and nothing is published as a version or an alias
    assert [f for f in functions if "SnapStart" in f["Properties"]] == []
    assert synthesized.of_type("AWS::Lambda::Version") == {}
    assert synthesized.of_type("AWS::Lambda::Alias") == {}


def test_snap_start_on_puts_the_query_api_on_a_published_version_of_the_query_function() -> None:
    # When the stack is synthesized with SnapStart on
    resources = _synth(querySnapStart="on")
    functions = _of_type(resources, "AWS::Lambda::Function")
    # Then the query function, and it alone, takes its snapshots on published versions
    snap = {k: f["Properties"]["SnapStart"] for k, f in functions.items() if "SnapStart" in f["Properties"]}
    (query,) = snap
    assert query.startswith("HubFunctionsQuery")
    assert snap[query] == {"ApplyOn": "PublishedVersions"}
    # And one version of it, deleted when a later deploy replaces it (its cached snapshot is billed)
    (version_id, version), *others = _of_type(resources, "AWS::Lambda::Version").items()
    assert others == []
    assert version["Properties"]["FunctionName"] == {"Ref": query}
    assert version["DeletionPolicy"] == "Delete"
    # And an alias on that version
    (alias,) = _of_type(resources, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == c.QUERY_ALIAS
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    # And every API method invokes the alias, never $LATEST, which has no snapshot
    (alias_id,) = _of_type(resources, "AWS::Lambda::Alias")
    methods = _of_type(resources, "AWS::ApiGateway::Method").values()
    uris = [
        json.dumps(m["Properties"]["Integration"]["Uri"]) for m in methods if "Integration" in m["Properties"]
    ]
    assert uris and all(alias_id in uri and query not in uri for uri in uris)
    # And API Gateway may invoke the alias
    permissions = _of_type(resources, "AWS::Lambda::Permission").values()
    assert any(p["Properties"]["FunctionName"] == {"Ref": alias_id} for p in permissions)


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("off", False), ("on", True), ("true", True)])
def test_snap_start_is_read_from_the_context(value: str | None, expected: bool) -> None:
    assert query_snap_start(value) is expected


def test_a_snap_start_value_that_is_not_on_or_off_is_refused() -> None:
    # When the context names anything but on or off, Then synthesis is refused, saying what to use
    with pytest.raises(StackConfigError, match="'on'"):
        query_snap_start("query")


def test_the_stack_with_snap_start_passes_cdk_nag_and_cfn_lint(tmp_path: Path) -> None:
    # Given the stack synthesized with SnapStart on, under cdk-nag's AwsSolutions checks
    from cfnlint.api import ManualArgs, lint_file

    from infra.app import build_app
    from tests.infrastructure.conftest import EXAMPLE_CONFIG, SKIP_BUNDLING

    app, stack = build_app(
        {**SKIP_BUNDLING, "config": str(EXAMPLE_CONFIG), "querySnapStart": "on"}, outdir=str(tmp_path / "out")
    )
    artifact = app.synth().get_stack_artifact(stack.artifact_id)
    # Then CDK and cdk-nag report nothing above info
    assert [(m.level, m.id, str(m.entry.data)[:200]) for m in artifact.messages if m.level != "info"] == []
    # And cfn-lint finds nothing in the template
    template = tmp_path / "EventHub.template.json"
    template.write_text(json.dumps(artifact.template, indent=1))
    assert [str(match) for match in lint_file(template, config=ManualArgs(regions=["us-east-1"]))] == []
