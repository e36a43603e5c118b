"""Lambda code bundled without Docker: pip installs arm64 wheels for the runtime's Python, and
an interpreter of that Python compiles the whole asset to bytecode.

One asset holds the ``functions`` package (with the console's static files, ``functions.console``) and
the run-time dependencies, exactly as pinned with hashes in ``infra/requirements.lock``; every
function of the stack shares it. ``pip install --require-hashes --no-deps --platform
manylinux2014_aarch64 --only-binary=:all:`` fetches the wheels Lambda's arm64 Python runtime
loads, whatever machine synthesizes the stack. Packages the runtime already provides (boto3 and
its botocore stack) are not in the lock.

``/var/task`` is read-only, so a Python that finds no bytecode there compiles every module it
imports from source on every cold start (pydantic, Powertools, ours: about twice the import
time). The bundle therefore ships ``__pycache__/*.cpython-313.pyc``, written by a Python 3.13
(``infra.runtime_python`` finds one; bundling stops if there is none) with
``--invalidation-mode unchecked-hash``: the asset's zip resets every file's time, which would
make timestamp-checked bytecode stale on arrival, and an asset never changes in place, so the
source need not be read and hashed again at each import.

The lock is made from ``pyproject.toml``'s ``[project].dependencies`` by ``make lock``
(``python -m infra.bundling lock``: uv's resolver, universal markers, every file's hash), and
``make`` installs the same lock into the virtualenv, so tests run the versions that are deployed.
The asset hash covers the lock, this file and the bundled sources, so a new resolution or a new
way of bundling is always uploaded.
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
from infra.runtime_python import runtime_python

Runner = Callable[[Sequence[str]], None]
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
# Where Lambda unpacks the asset: the file names the bytecode carries (tracebacks show them).
TASK_ROOT = "/var/task"


def runtime_requirements(pyproject: Path = c.PYPROJECT) -> list[str]:
    """The project's run-time dependencies, minus what the Lambda runtime provides."""
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    provided = set(c.RUNTIME_PROVIDED_PACKAGES)
    return [spec for spec in declared if _distribution_name(spec) not in provided]


def locked_versions(lock: Path = c.LAMBDA_LOCK) -> dict[str, str]:
    """``{distribution name: version}`` of every package the lock pins."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", lock.read_text(encoding="utf-8"), re.M)
    return {_distribution_name(name): version for name, version in pins}


def lock_command(output: Path = c.LAMBDA_LOCK) -> list[str]:
    """uv's resolver over the run-time dependencies: universal (markers for every Python the
    project supports), a hash for every file, the runtime's own packages left out."""
    excluded = [arg for name in c.RUNTIME_PROVIDED_PACKAGES for arg in ("--no-emit-package", name)]
    return [
        sys.executable, "-m", "uv", "pip", "compile", "-", "--universal", "--generate-hashes",
        "--python-version", c.MIN_PYTHON_VERSION, "--no-header", "--quiet", *excluded, "-o", str(output),
    ]  # fmt: skip


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
        lock: Path = c.LAMBDA_LOCK,
        run: Runner = _run,
        *,
        platform: str = c.PIP_PLATFORM,
        python_version: str = c.PIP_PYTHON_VERSION,
        find_python: Callable[[str], Path] = runtime_python,
    ) -> None:
        """``platform`` and ``python_version`` are Lambda's; the cold-start benchmark builds the
        same asset for the machine it runs on."""
        self.root = root
        self.sources = tuple(sources)
        self.lock = lock
        self.platform = platform
        self.python_version = python_version
        self._run = run
        self._find_python = find_python

    def pip_command(self, output_dir: str) -> list[str]:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--require-hashes", "--no-deps", "--target", output_dir,
            "--platform", self.platform, "--implementation", "cp",
            "--python-version", self.python_version, "--only-binary=:all:",
            "-r", str(self.lock),
        ]  # fmt: skip

    def compile_command(self, python: Path, output_dir: str) -> list[str]:
        """Bytecode for every module of the asset, as the runtime's Python reads it from a
        read-only ``/var/task`` (no timestamps to check; file names as Lambda will show them)."""
        return [
            str(python), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
            "-s", output_dir, "-p", TASK_ROOT, output_dir,
        ]  # fmt: skip

    def try_bundle(self, output_dir: str, *, image: Any, **_options: Any) -> bool:
        target = Path(output_dir)
        # First, so that a machine without the runtime's Python stops before any download.
        python = self._find_python(self.python_version)
        if locked_versions(self.lock):
            self._run(self.pip_command(output_dir))
        _remove_runtime_provided(target)
        for relative in self.sources:
            source, destination = self.root / relative, target / relative
            if source.is_dir():
                shutil.copytree(source, destination, ignore=_IGNORED, dirs_exist_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
        self._run(self.compile_command(python, output_dir))
        return True


def _remove_runtime_provided(target: Path) -> None:
    """Drop boto3/botocore pulled in transitively (aws-xray-sdk needs botocore)."""
    for name in c.RUNTIME_PROVIDED_PACKAGES:
        for path in [target / name, *target.glob(f"{name}-*.dist-info")]:
            if path.is_dir():
                shutil.rmtree(path)
    shutil.rmtree(target / "bin", ignore_errors=True)


def source_hash(root: Path, sources: Sequence[str], lock: Path, bundler: Path = Path(__file__)) -> str:
    """Changes when the code, the locked dependencies, the bundling code or the platform changes."""
    digest = hashlib.sha256()
    for part in (c.PIP_PLATFORM, c.PIP_PYTHON_VERSION):
        digest.update(part.encode() + b"\0")
    for path in (lock, bundler):
        digest.update(path.read_bytes() + b"\0")
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
        asset_hash=source_hash(bundler.root, bundler.sources, bundler.lock),
        bundling=BundlingOptions(
            image=c.RUNTIME.bundling_image,
            local=bundler,
            command=["bash", "-c", "echo 'bundled locally by infra/bundling.py' && exit 1"],
        ),
    )


def main(argv: Sequence[str]) -> int:
    """``python -m infra.bundling lock``: re-resolve infra/requirements.lock from pyproject.toml."""
    if list(argv) != ["lock"]:
        print("usage: python -m infra.bundling lock", file=sys.stderr)
        return 2
    requirements = "\n".join(runtime_requirements()) + "\n"
    subprocess.run(lock_command(), input=requirements, text=True, check=True)  # noqa: S603
    print(f"locked {len(locked_versions())} packages into {c.LAMBDA_LOCK.relative_to(c.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
