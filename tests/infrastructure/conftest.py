"""One synthesis of the stack per test session (synth takes seconds), shared by every test here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.models.config import load_config
from tests.infrastructure.template import Synthesized

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "config" / "aws.example.json"
SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}

os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    from aws_cdk.assertions import Template

    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app({**SKIP_BUNDLING, "config": str(EXAMPLE_CONFIG)}, outdir=str(outdir))
    assembly = app.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    raw = artifact.template
    yield Synthesized(
        template=Template.from_json(raw),
        resources=raw["Resources"],
        outputs=raw.get("Outputs", {}),
        messages=list(artifact.messages),
        outdir=outdir,
        config=load_config(EXAMPLE_CONFIG),
    )
