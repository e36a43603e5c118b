"""Lambda code bundled without Docker: pip installs arm64 wheels for the runtime's Python.

One asset holds the ``functions`` package, the console's static files (``eventhub.console``) and
the run-time dependencies (``pyproject.toml``'s ``[project].dependencies``); every function of
the stack shares it. ``pip install --platform
manylinux2014_aarch64 --only-binary=:all:`` fetches the wheels Lambda's arm64 Python runtime
loads, whatever machine synthesizes the stack. Packages the runtime already provides (boto3 and
its botocore stack) are left out.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import constants as c

Runner = Callable[[Sequence[str]], None]
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def runtime_requirements(pyproject: Path = c.PYPROJECT) -> list[str]:
    """The project's run-time dependencies, minus what the Lambda runtime provides."""
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    provided = set(c.RUNTIME_PROVIDED_PACKAGES)
    return [spec for spec in declared if _distribution_name(spec) not in provided]


def _distribution_name(spec: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    name = match.group(1) if match else spec
    return re.sub(r"[-_.]+", "-", name).lower()


def _run(command: Sequence[str]) -> None:
    subprocess.run(list(command), check=True)  # noqa: S603 - fixed argv, no shell


@jsii.implements(ILocalBundling)
class LocalPipBundler:
    """``ILocalBundling``: CDK calls ``try_bundle`` and never reaches for Docker."""

    def __init__(
        self,
        root: Path = c.ROOT,
        sources: Sequence[str] = c.BUNDLED_SOURCES,
        requirements: Sequence[str] | None = None,
        run: Runner = _run,
    ) -> None:
        self.root = root
        self.sources = tuple(sources)
        self.requirements = list(requirements if requirements is not None else runtime_requirements())
        self._run = run

    def pip_command(self, output_dir: str) -> list[str]:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", output_dir,
            "--platform", c.PIP_PLATFORM, "--implementation", "cp",
            "--python-version", c.PIP_PYTHON_VERSION, "--only-binary=:all:",
            *self.requirements,
        ]  # fmt: skip

    def try_bundle(self, output_dir: str, *, image: Any, **_options: Any) -> bool:
        target = Path(output_dir)
        if self.requirements:
            self._run(self.pip_command(output_dir))
        _remove_runtime_provided(target)
        for relative in self.sources:
            source, destination = self.root / relative, target / relative
            if source.is_dir():
                shutil.copytree(source, destination, ignore=_IGNORED, dirs_exist_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
        return True


def _remove_runtime_provided(target: Path) -> None:
    """Drop boto3/botocore pulled in transitively (aws-xray-sdk needs botocore)."""
    for name in c.RUNTIME_PROVIDED_PACKAGES:
        for path in [target / name, *target.glob(f"{name}-*.dist-info")]:
            if path.is_dir():
                shutil.rmtree(path)
    shutil.rmtree(target / "bin", ignore_errors=True)


def source_hash(root: Path, sources: Sequence[str], requirements: Sequence[str]) -> str:
    """Changes when the code, the dependency list or the target platform changes."""
    digest = hashlib.sha256()
    for part in (c.PIP_PLATFORM, c.PIP_PYTHON_VERSION, *requirements):
        digest.update(part.encode() + b"\0")
    for relative in sources:
        source = root / relative
        files = [source] if source.is_file() else sorted(source.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def lambda_code() -> lambda_.Code:
    """The one asset every function runs from (handlers are ``functions.handlers.<name>.handler``)."""
    bundler = LocalPipBundler()
    return lambda_.Code.from_asset(
        str(c.FUNCTIONS_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(bundler.root, bundler.sources, bundler.requirements),
        bundling=BundlingOptions(
            image=c.RUNTIME.bundling_image,
            local=bundler,
            command=["bash", "-c", "echo 'bundled locally by infra/bundling.py' && exit 1"],
        ),
    )
