"""Lambda code bundling without Docker: the locked arm64/cp313 wheels, the functions package, and
bytecode compiled by the runtime's Python."""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra import constants as c
from infra.bundling import LocalPipBundler, locked_versions, runtime_requirements, source_hash
from infra.runtime_python import (
    MAGIC_NUMBERS,
    OVERRIDE_ENV_VAR,
    NoRuntimePython,
    find_python,
    runtime_python,
)

# The repository's packages that stay out of the Lambda asset (eventhub: the local runtime, the
# simulated providers of `make demo`, the CLI).
LOCAL_ONLY = frozenset({"eventhub", "tests", "bench", "infra"})
LOCK_LINES = "pydantic==2.7.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"


def _lock(tmp_path: Path, text: str = LOCK_LINES) -> Path:
    path = tmp_path / "requirements.lock"
    path.write_text(text)
    return path


def test_the_lock_pins_every_runtime_dependency_within_its_declared_range() -> None:
    # Given pyproject's run-time dependencies and the committed lock
    pins = locked_versions()
    requirements = runtime_requirements()
    assert requirements, "pyproject declares no run-time dependency"
    # Then each is pinned, at a version its range admits, and the runtime's own packages are not
    for spec in requirements:
        requirement = Requirement(spec)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in infra/requirements.lock: run make lock"
        assert requirement.specifier.contains(pins[name]), (name, pins[name], str(requirement.specifier))
    assert not set(pins) & set(c.RUNTIME_PROVIDED_PACKAGES)
    # And every pin carries hashes (pip installs it with --require-hashes)
    text = c.LAMBDA_LOCK.read_text()
    assert text.count("==") == len(pins) and text.count("--hash=sha256:") >= len(pins)


def test_the_tests_run_the_locked_versions_of_the_functions_dependencies() -> None:
    # Given the lock the Lambda bundle installs, and this virtualenv (made by make from the same lock)
    pins = locked_versions()
    # Then the lock pins packages
    assert pins, f"no pin read from {c.LAMBDA_LOCK}"
    # And every locked package is installed here at exactly its locked version
    for name, pinned in pins.items():
        assert version(name) == pinned, f"{name}: installed {version(name)}, locked {pinned} (re-run make)"


def test_bundle_requirements_are_the_runtime_dependencies_minus_boto3(tmp_path: Path) -> None:
    # Given a pyproject that depends on boto3 and botocore besides the function's own packages
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["aws-lambda-powertools[tracer]>=3.0", "boto3>=1.35", '
        '"Pydantic>=2.7", "botocore"]\n'
    )
    # When the bundle's requirements are read from it
    # Then they are its run-time dependencies without what the Lambda runtime provides
    assert runtime_requirements(pyproject) == ["aws-lambda-powertools[tracer]>=3.0", "Pydantic>=2.7"]
    # And the repository's own bundle requirements leave boto3 out
    assert not any(spec.startswith("boto3") for spec in runtime_requirements())


SOURCES = ("functions",)


def _source(tmp_path: Path) -> Path:
    """A repository with a functions package, a console package and some that must stay out."""
    root = tmp_path / "repo"
    source = root / "functions"
    (source / "handlers").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "handlers" / "intake.py").write_text("def handler(event, context): ...\n")
    (source / "handlers" / "__pycache__").mkdir()
    (source / "handlers" / "__pycache__" / "intake.cpython-311.pyc").write_bytes(b"\0")
    (source / "console").mkdir()
    (source / "console" / "index.html").write_text("<!doctype html>")
    (root / "eventhub" / "local").mkdir(parents=True)
    (root / "eventhub" / "__init__.py").write_text("")
    (root / "eventhub" / "local" / "stack.py").write_text("import moto\n")
    return root


def test_try_bundle_installs_arm64_wheels_copies_the_functions_package_and_compiles_it(
    tmp_path: Path,
) -> None:
    # Given a source tree, a Python of the runtime's version and a pip that leaves botocore behind
    # (aws-xray-sdk depends on it)
    source = _source(tmp_path)
    output = tmp_path / "asset"
    output.mkdir()
    commands: list[Sequence[str]] = []
    runtime = Path("/opt/python/bin/python3.13")

    def fake_run(command: Sequence[str]) -> None:
        commands.append(command)
        if "pip" in command:
            for package in ("pydantic", "botocore", "botocore-1.40.0.dist-info", "bin"):
                (output / package).mkdir()

    lock = _lock(tmp_path)
    bundler = LocalPipBundler(
        root=source, sources=SOURCES, lock=lock, run=fake_run, find_python=lambda version: runtime
    )
    # When CDK asks for a local bundle
    bundled = bundler.try_bundle(str(output), image=None)
    # Then pip targeted Lambda's platform, the code is copied, the runtime's packages are not
    assert bundled is True
    pip, compile_all = commands
    joined = " ".join(pip)
    assert f"--target {output}" in joined
    assert "--platform manylinux2014_aarch64" in joined
    assert "--python-version 3.13" in joined
    assert "--only-binary=:all:" in joined
    assert "--implementation cp" in joined
    assert "--require-hashes" in pip and "--no-deps" in pip and "--no-compile" in pip
    assert pip[-2:] == ["-r", str(lock)]
    assert (output / "functions" / "handlers" / "intake.py").is_file()
    assert (output / "functions" / "console" / "index.html").is_file()
    assert not (output / "eventhub").exists(), "only the functions package is bundled: no local-only code"
    assert not (output / "functions" / "handlers" / "__pycache__").exists(), "no bytecode of the checkout"
    assert (output / "pydantic").is_dir()
    assert not (output / "botocore").exists() and not (output / "botocore-1.40.0.dist-info").exists()
    assert not (output / "bin").exists()
    # And then the runtime's Python compiled the whole asset, bytecode that checks no timestamp,
    # with the file names Lambda will show
    assert compile_all[:3] == [str(runtime), "-m", "compileall"]
    assert " --invalidation-mode unchecked-hash " in " ".join(compile_all)
    assert compile_all[-5:] == ["-s", str(output), "-p", "/var/task", str(output)]


def test_no_python_of_the_runtimes_version_stops_bundling_before_any_download(tmp_path: Path) -> None:
    # Given a machine without a Python of the runtime's version
    commands: list[Sequence[str]] = []

    def none_found(version: str) -> Path:
        raise NoRuntimePython(f"no Python {version}")

    bundler = LocalPipBundler(
        root=_source(tmp_path), sources=SOURCES, lock=_lock(tmp_path), run=commands.append,
        find_python=none_found,
    )  # fmt: skip
    # When CDK asks for a local bundle
    # Then bundling stops, saying which Python it needs, and nothing was downloaded or copied
    with pytest.raises(NoRuntimePython, match="3.13"):
        bundler.try_bundle(str(tmp_path / "asset"), image=None)
    assert commands == []


def test_the_bundles_bytecode_is_the_runtimes_and_is_used_from_a_read_only_asset(tmp_path: Path) -> None:
    # Given a Python of the runtime's version, and a source tree bundled with it (no dependencies)
    python = find_python(c.PIP_PYTHON_VERSION)
    if python is None:
        pytest.skip(f"no Python {c.PIP_PYTHON_VERSION} here: bundling itself refuses to run")
    output = tmp_path / "asset"
    output.mkdir()
    source = _source(tmp_path)
    (source / "functions" / "handlers" / "intake.py").write_text("VALUE = 'compiled'\n")
    bundler = LocalPipBundler(root=source, sources=SOURCES, lock=_lock(tmp_path, ""))
    bundler.try_bundle(str(output), image=None)
    # When the bytecode's headers are read
    tag = "cpython-" + c.PIP_PYTHON_VERSION.replace(".", "")
    compiled = sorted(output.rglob("*.pyc"))
    assert [p.name for p in compiled] == [f"__init__.{tag}.pyc", f"intake.{tag}.pyc"]
    for path in compiled:
        header = path.read_bytes()[:8]
        # Then each carries the runtime's magic number, which is the interpreter's own,
        # and is hash-based without a check of its source (flags 0b01)
        assert header[:4] == MAGIC_NUMBERS[c.PIP_PYTHON_VERSION]
        assert int.from_bytes(header[4:8], "little") == 0b01
    assert _magic_of(python) == MAGIC_NUMBERS[c.PIP_PYTHON_VERSION]
    # When the source changes after bundling and the runtime's Python imports from the read-only asset
    (output / "functions" / "handlers" / "intake.py").write_text("VALUE = 'source'\n")
    subprocess.run(["chmod", "-R", "a-w", str(output)], check=True)
    try:
        imported = subprocess.run(
            [str(python), "-c", "import functions.handlers.intake as m; print(m.VALUE, m.__spec__.cached)"],
            cwd=output, env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(output)], check=True)
    # Then it ran the bundled bytecode, not the source
    assert imported[0] == "compiled", "the runtime compiled the source instead of using the bundle's bytecode"
    assert imported[1].endswith(f"intake.{tag}.pyc")


def test_the_magic_number_table_covers_the_runtime_and_matches_each_python_found_here() -> None:
    # Given the table of magic numbers the bundle is checked against
    assert c.PIP_PYTHON_VERSION in MAGIC_NUMBERS, "add the runtime's (importlib.util.MAGIC_NUMBER)"
    checked = 0
    for minor, magic in MAGIC_NUMBERS.items():
        python = find_python(minor)
        if python is None:
            continue
        # When an interpreter of that version is asked for its own
        # Then it is the table's
        assert _magic_of(python) == magic, minor
        checked += 1
    # And at least the interpreter running the tests was checked
    assert checked >= 1


def _magic_of(python: Path) -> bytes:
    script = "import importlib.util, sys; sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)"
    return subprocess.run([str(python), "-c", script], capture_output=True, check=True).stdout


def _fake_python(path: Path, answer: str, status: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{answer}'\nexit {status}\n")
    path.chmod(0o755)
    return path


def test_a_broken_shim_on_path_is_passed_over_for_pyenvs_newest_patch(tmp_path: Path) -> None:
    # Given a pyenv shim on PATH that fails (pyenv does not activate that version), and two
    # pyenv installations of it
    version = "9.99"
    _fake_python(tmp_path / "shims" / f"python{version}", "pyenv: command not found", status=127)
    versions = tmp_path / "pyenv" / "versions"
    _fake_python(versions / f"{version}.2" / "bin" / f"python{version}", version)
    newest = _fake_python(versions / f"{version}.10" / "bin" / f"python{version}", version)
    environ = {"PATH": str(tmp_path / "shims"), "PYENV_ROOT": str(tmp_path / "pyenv")}
    # When an interpreter of that version is looked for
    # Then pyenv's newest patch release is found
    assert find_python(version, environ) == newest
    # And a version found nowhere is None, and asking for it as the runtime's says what to do
    assert find_python("9.98", environ) is None
    with pytest.raises(NoRuntimePython, match="uv python install 9.98"):
        runtime_python("9.98", environ)


def test_an_override_of_another_version_is_refused(tmp_path: Path) -> None:
    # Given EVENTHUB_BUNDLE_PYTHON pointing at a Python of another version
    other = _fake_python(tmp_path / "python", "3.11")
    environ = {OVERRIDE_ENV_VAR: str(other), "PATH": ""}
    # When the runtime's Python is looked for
    # Then it is refused, naming both versions
    with pytest.raises(NoRuntimePython, match=r"not a Python 3\.13 \(it answers 3\.11\)"):
        runtime_python("3.13", environ)
    # And the override is used when it is the right version
    right = _fake_python(tmp_path / "python3.13", "3.13")
    assert runtime_python("3.13", {OVERRIDE_ENV_VAR: str(right), "PATH": ""}) == right


def test_asset_hash_changes_with_code_the_locked_versions_and_the_bundling_code(tmp_path: Path) -> None:
    # Given a source tree, its lock and the bundling code
    root = _source(tmp_path)
    lock = _lock(tmp_path)
    bundler_code = tmp_path / "bundling.py"
    bundler_code.write_text("# bundling\n")

    def digest() -> str:
        return source_hash(root, SOURCES, lock, bundler_code)

    # When the asset hash is taken twice over the same inputs
    first = digest()
    # Then it is the same
    assert digest() == first
    # When the lock resolves a new version
    lock.write_text(LOCK_LINES.replace("2.7.0", "2.7.1"))
    # Then the hash changes
    assert digest() != first, "a new resolution is a new asset"
    lock.write_text(LOCK_LINES)
    # When the bundling code changes
    bundler_code.write_text("# bundling, changed\n")
    # Then the hash changes
    assert digest() != first, "a new way of bundling is a new asset"
    # And it is the first again when the bundling code is restored
    bundler_code.write_text("# bundling\n")
    assert digest() == first
    # When only bytecode caches and files outside the bundle change
    (root / "functions" / "handlers" / "__pycache__" / "other.pyc").write_bytes(b"\1")
    (root / "eventhub" / "local" / "stack.py").write_text("changed\n")
    # Then the hash does not change
    assert digest() == first, "bytecode caches and files outside the bundle do not change the asset"
    # When the console's files change
    (root / "functions" / "console" / "index.html").write_text("<!doctype html><title>x</title>")
    second = digest()
    # Then the hash changes
    assert second != first
    # And it changes again when a handler changes
    (root / "functions" / "handlers" / "intake.py").write_text("def handler(event, context): return 1\n")
    assert digest() != second


def test_the_bundled_sources_exist_in_the_repository() -> None:
    # When the sources the Lambda bundle copies are looked for
    for relative in c.BUNDLED_SOURCES:
        # Then each exists in the repository
        assert (c.ROOT / relative).exists(), relative


def test_the_bundled_code_imports_nothing_that_is_left_out_of_the_bundle() -> None:
    # Given every module of the bundled sources
    bundled = {Path(relative).parts[0] for relative in c.BUNDLED_SOURCES}
    modules = [path for relative in c.BUNDLED_SOURCES for path in (c.ROOT / relative).rglob("*.py")]
    # When their imports are read
    outside = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            outside += [f"{path.relative_to(c.ROOT)}: {n}" for n in names if n.split(".")[0] in LOCAL_ONLY]
    # Then none is of the repository's local-only packages (the local runtime, the demo, tests)
    assert modules and bundled.isdisjoint(LOCAL_ONLY)
    assert outside == []


def test_pip_platform_matches_the_lambda_architecture_and_runtime() -> None:
    # When the pip platform and Python version the bundle installs for are read
    # Then they match the functions' arm64 architecture and Python runtime
    assert c.ARCHITECTURE.name == "arm64" and "aarch64" in c.PIP_PLATFORM
    assert c.RUNTIME.name == f"python{c.PIP_PYTHON_VERSION}"
