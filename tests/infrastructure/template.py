"""The synthesized template as tests read it, and small lookups over it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.models.config import HubConfig


@dataclass(frozen=True)
class Synthesized:
    template: Any  # aws_cdk.assertions.Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, Any]
    messages: list[Any]  # cloud assembly messages: cdk-nag findings land here
    outdir: Path
    config: HubConfig

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def logical_id(self, prefix: str, resource_type: str) -> str:
        found = [k for k in self.of_type(resource_type) if k.startswith(prefix)]
        assert len(found) == 1, f"expected one {resource_type} named {prefix}*, found {found}"
        return found[0]


def function_id(synth: Synthesized, name: str) -> str:
    return synth.logical_id(f"HubFunctions{name}", "AWS::Lambda::Function")


def role_statements(synth: Synthesized, function_name: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to a function's role."""
    function = synth.resources[function_id(synth, function_name)]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return found
