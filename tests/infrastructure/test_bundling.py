"""Lambda code bundling without Docker: the locked arm64/cp313 wheels, then the functions package."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

from infra import constants as c
from infra.bundling import LocalPipBundler, locked_versions, runtime_requirements, source_hash

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


def test_try_bundle_installs_arm64_wheels_and_copies_the_functions_package(tmp_path: Path) -> None:
    # Given a source tree and a pip that leaves botocore behind (aws-xray-sdk depends on it)
    source = _source(tmp_path)
    output = tmp_path / "asset"
    output.mkdir()
    commands: list[Sequence[str]] = []

    def fake_pip(command: Sequence[str]) -> None:
        commands.append(command)
        for package in ("pydantic", "botocore", "botocore-1.40.0.dist-info", "bin"):
            (output / package).mkdir()

    lock = _lock(tmp_path)
    bundler = LocalPipBundler(root=source, sources=SOURCES, lock=lock, run=fake_pip)
    # When CDK asks for a local bundle
    bundled = bundler.try_bundle(str(output), image=None)
    # Then pip targeted Lambda's platform, the code is copied, the runtime's packages are not
    assert bundled is True
    (command,) = commands
    joined = " ".join(command)
    assert f"--target {output}" in joined
    assert "--platform manylinux2014_aarch64" in joined
    assert "--python-version 3.13" in joined
    assert "--only-binary=:all:" in joined
    assert "--implementation cp" in joined
    assert "--require-hashes" in command and "--no-deps" in command
    assert command[-2:] == ["-r", str(lock)]
    assert (output / "functions" / "handlers" / "intake.py").is_file()
    assert (output / "functions" / "console" / "index.html").is_file()
    assert not (output / "eventhub").exists(), "only the functions package is bundled: no local-only code"
    assert not (output / "functions" / "handlers" / "__pycache__").exists()
    assert (output / "pydantic").is_dir()
    assert not (output / "botocore").exists() and not (output / "botocore-1.40.0.dist-info").exists()
    assert not (output / "bin").exists()


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
