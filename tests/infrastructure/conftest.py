"""One synthesis of the stack per test session (synth takes seconds), shared by every test here."""

from __future__ import annotations

import fcntl
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
def synthesized(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Synthesized]:
    """The stack synthesized once per run: under pytest-xdist the first worker writes the cloud
    assembly (under a file lock) and the others read it from disk."""
    from aws_cdk.assertions import Template
    from aws_cdk.cx_api import CloudAssembly

    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp if worker_id == "master" else basetemp.parent  # the workers' common parent
    outdir = shared / "cdk.out"
    with (shared / "cdk.out.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (outdir / "manifest.json").exists():
            from infra.app import build_app

            app, _ = build_app({**SKIP_BUNDLING, "config": str(EXAMPLE_CONFIG)}, outdir=str(outdir))
            app.synth()
        fcntl.flock(lock, fcntl.LOCK_UN)
    assembly = CloudAssembly(str(outdir))
    (artifact,) = assembly.stacks
    raw = artifact.template
    yield Synthesized(
        template=Template.from_json(raw),
        resources=raw["Resources"],
        outputs=raw.get("Outputs", {}),
        messages=list(artifact.messages),
        outdir=outdir,
        config=load_config(EXAMPLE_CONFIG),
    )
