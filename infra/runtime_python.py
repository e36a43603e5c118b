"""An interpreter of the Lambda runtime's Python minor version, to compile the asset's bytecode.

A ``.pyc`` is only used by the Python that wrote it (``__pycache__/x.cpython-313.pyc`` for 3.13,
its magic number in the header), so the bundle's bytecode is compiled by a 3.13 when the runtime
is ``python3.13``, whatever Python runs the CDK app. Looked for, in order:
``$EVENTHUB_BUNDLE_PYTHON``, the running interpreter, ``python3.13`` on ``PATH``, pyenv's
versions, uv's managed Pythons. Each candidate is asked for its version: a pyenv shim on
``PATH`` for a version pyenv does not activate fails that question and is passed over.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

OVERRIDE_ENV_VAR = "EVENTHUB_BUNDLE_PYTHON"
_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"

# importlib.util.MAGIC_NUMBER of each minor version, the first four bytes of its .pyc files.
MAGIC_NUMBERS = {
    "3.11": (3495).to_bytes(2, "little") + b"\r\n",
    "3.12": (3531).to_bytes(2, "little") + b"\r\n",
    "3.13": (3571).to_bytes(2, "little") + b"\r\n",
}


class NoRuntimePython(RuntimeError):
    """No interpreter of the runtime's version: the bundle would carry no usable bytecode."""


def version_of(python: str | Path) -> str | None:
    """``"3.13"`` for a working interpreter, None for anything that does not answer."""
    try:
        answer = subprocess.run(  # noqa: S603 - an interpreter path and a fixed script
            [str(python), "-c", _VERSION], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return answer.stdout.strip() or None


def find_python(version: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """The first interpreter of Python ``version`` ("3.13") found, or None."""
    for candidate in _candidates(version, environ):
        if version_of(candidate) == version:
            return Path(candidate)
    return None


def runtime_python(version: str, environ: Mapping[str, str] = os.environ) -> Path:
    """The interpreter that compiles the bundle's bytecode; raises with what to do if none."""
    override = environ.get(OVERRIDE_ENV_VAR)
    if override and version_of(override) != version:
        raise NoRuntimePython(
            f"{OVERRIDE_ENV_VAR}={override} is not a Python {version} (it answers {version_of(override)})"
        )
    found = find_python(version, environ)
    if found is None:
        raise NoRuntimePython(
            f"bundling the Lambda code needs a Python {version} (the functions' runtime) to compile its "
            f"bytecode, and none was found: not python{version} on PATH, not under pyenv, not from uv. "
            f"Install one (`uv python install {version}`, `pyenv install {version}`, or the OS package) "
            f"or point {OVERRIDE_ENV_VAR} at it. Without bytecode every cold start compiles the "
            "dependencies from source (about twice as slow; docs/performance.md)."
        )
    return found


def _candidates(version: str, environ: Mapping[str, str]) -> Iterator[str]:
    if override := environ.get(OVERRIDE_ENV_VAR):
        yield override
        return
    yield sys.executable
    if on_path := shutil.which(f"python{version}", path=environ.get("PATH")):
        yield on_path
    pyenv_root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for directory in sorted((pyenv_root / "versions").glob(f"{version}.*"), key=_patch, reverse=True):
        yield str(directory / "bin" / f"python{version}")
    if found := _uv_managed(version):
        yield found


def _patch(directory: Path) -> tuple[int, str]:
    match = re.match(r"\d+\.\d+\.(\d+)", directory.name)
    return (int(match.group(1)) if match else -1, directory.name)


def _uv_managed(version: str) -> str | None:
    """uv's own installations (``uv python install``), if uv is installed here."""
    command = [
        sys.executable, "-m", "uv", "python", "find", "--managed-python", "--no-project",
        "--no-python-downloads", version,
    ]  # fmt: skip
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None
    return answer.stdout.strip() or None
