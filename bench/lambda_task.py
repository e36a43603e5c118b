"""What a Lambda cold start imports from, rebuilt on this machine: ``/var/task`` and ``/var/runtime``.

``task``: the functions' asset as ``infra/bundling.py`` builds it (the locked wheels with
``--platform``/``--only-binary``, the functions package, bytecode compiled by the interpreter that
will import it), but for this machine's platform (``manylinux2014_<arch>``) and that interpreter's
Python version, so that its binary wheels load here. ``runtime``: what the Lambda runtime provides
beside it (boto3, botocore and their dependencies), copied from this virtualenv and compiled, as
the runtime ships them. Both are made read-only, as they are in Lambda; the processes run with
``PYTHONDONTWRITEBYTECODE=1``, so nothing compiled at import is kept.

The interpreter is one of the runtime's minor version when this machine has one
(``infra.runtime_python``): a ``.cpython-313.pyc`` is only read by a 3.13. Without one, the bench
uses its own interpreter and says so; its figures are then not the runtime's.
"""

from __future__ import annotations

import contextlib
import importlib.util
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra import constants as c
from infra.bundling import LocalPipBundler
from infra.runtime_python import find_python, version_of

# Import names of what the Lambda Python runtime provides (infra.constants.RUNTIME_PROVIDED_PACKAGES
# and urllib3, which botocore needs and the runtime ships too).
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


@dataclass(frozen=True)
class LambdaTask:
    python: Path
    version: str  # "3.13"
    platform: str  # the wheels' platform tag
    task: Path  # the asset, as /var/task
    runtime: Path  # boto3 and its stack, as /var/runtime

    @property
    def is_runtime_version(self) -> bool:
        return self.version == c.PIP_PYTHON_VERSION

    def describe(self) -> str:
        which = "the runtime's" if self.is_runtime_version else f"NOT the runtime's {c.PIP_PYTHON_VERSION}"
        return f"Python {self.version} ({which}) at {self.python}, wheels for {self.platform}"


def host_platform() -> str:
    return f"manylinux2014_{platform.machine()}"


def _runtime_packages(destination: Path) -> None:
    destination.mkdir(parents=True)
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed here")
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(spec.origin, destination / Path(spec.origin).name)


@contextlib.contextmanager
def lambda_task(scratch: Path) -> Iterator[LambdaTask]:
    """Build the read-only task and runtime directories under ``scratch``; writable again after."""
    python = find_python(c.PIP_PYTHON_VERSION)
    if python is None:
        python = Path(sys.executable)
        print(
            f"[bench] cold_start: no Python {c.PIP_PYTHON_VERSION} here; the Lambda mode runs "
            f"Python {sys.version_info.major}.{sys.version_info.minor}, not the runtime's",
            file=sys.stderr,
        )
    version = version_of(python) or f"{sys.version_info.major}.{sys.version_info.minor}"
    root = Path(tempfile.mkdtemp(prefix="lambda-", dir=scratch))
    task, runtime = root / "task", root / "runtime"
    task.mkdir()
    bundler = LocalPipBundler(platform=host_platform(), python_version=version, find_python=lambda _: python)
    bundler.try_bundle(str(task), image=None)
    _runtime_packages(runtime)
    subprocess.run([str(python), "-m", "compileall", "-q", "-j", "0", str(runtime)], check=True)
    subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
    try:
        yield LambdaTask(python, version, host_platform(), task, runtime)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(root)], check=True)
