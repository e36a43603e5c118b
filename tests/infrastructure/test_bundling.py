"""Lambda code bundling without Docker: pip for arm64/cp313 wheels, then the functions package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from infra import constants as c
from infra.bundling import LocalPipBundler, runtime_requirements, source_hash


def test_bundle_requirements_are_the_runtime_dependencies_minus_boto3(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["aws-lambda-powertools[tracer]>=3.0", "boto3>=1.35", '
        '"Pydantic>=2.7", "botocore"]\n'
    )
    assert runtime_requirements(pyproject) == ["aws-lambda-powertools[tracer]>=3.0", "Pydantic>=2.7"]
    assert not any(spec.startswith("boto3") for spec in runtime_requirements())


SOURCES = ("functions", "eventhub/__init__.py", "eventhub/console")


def _source(tmp_path: Path) -> Path:
    """A repository with a functions package, a console package and some that must stay out."""
    root = tmp_path / "repo"
    source = root / "functions"
    (source / "handlers").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "handlers" / "intake.py").write_text("def handler(event, context): ...\n")
    (source / "handlers" / "__pycache__").mkdir()
    (source / "handlers" / "__pycache__" / "intake.cpython-311.pyc").write_bytes(b"\0")
    (root / "eventhub" / "console").mkdir(parents=True)
    (root / "eventhub" / "__init__.py").write_text("")
    (root / "eventhub" / "console" / "index.html").write_text("<!doctype html>")
    (root / "eventhub" / "local").mkdir()
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

    bundler = LocalPipBundler(root=source, sources=SOURCES, requirements=["pydantic>=2.7"], run=fake_pip)
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
    assert command[-1] == "pydantic>=2.7"
    assert (output / "functions" / "handlers" / "intake.py").is_file()
    assert (output / "eventhub" / "console" / "index.html").is_file()
    assert (output / "eventhub" / "__init__.py").is_file()
    assert not (output / "eventhub" / "local").exists(), "only the listed sources are bundled"
    assert not (output / "functions" / "handlers" / "__pycache__").exists()
    assert (output / "pydantic").is_dir()
    assert not (output / "botocore").exists() and not (output / "botocore-1.40.0.dist-info").exists()
    assert not (output / "bin").exists()


def test_asset_hash_changes_with_code_and_with_dependencies(tmp_path: Path) -> None:
    root = _source(tmp_path)

    def digest(requirement: str = "pydantic>=2.7") -> str:
        return source_hash(root, SOURCES, [requirement])

    first = digest()
    assert digest() == first
    assert digest("pydantic>=2.8") != first
    (root / "functions" / "handlers" / "__pycache__" / "other.pyc").write_bytes(b"\1")
    (root / "eventhub" / "local" / "stack.py").write_text("changed\n")
    assert digest() == first, "bytecode caches and files outside the bundle do not change the asset"
    (root / "eventhub" / "console" / "index.html").write_text("<!doctype html><title>x</title>")
    second = digest()
    assert second != first
    (root / "functions" / "handlers" / "intake.py").write_text("def handler(event, context): return 1\n")
    assert digest() != second


def test_the_bundled_sources_exist_in_the_repository() -> None:
    for relative in c.BUNDLED_SOURCES:
        assert (c.ROOT / relative).exists(), relative


def test_pip_platform_matches_the_lambda_architecture_and_runtime() -> None:
    assert c.ARCHITECTURE.name == "arm64" and "aarch64" in c.PIP_PLATFORM
    assert c.RUNTIME.name == f"python{c.PIP_PYTHON_VERSION}"
