"""Every comparison of a secret-derived value in functions/ goes through hmac.compare_digest.

An AST scan: no ``==``/``!=``/``in`` comparison may involve a name that smells of a signature,
secret, digest, MAC, token or key hash; and every HMAC/hash digest is only ever compared through
compare_digest. The scan is checked against snippets that must be caught, so it cannot pass vacuously.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
SENSITIVE = re.compile(
    r"sig|secret|digest|hmac|mac$|^mac|token|key_hash|hash$|expected|presented|password", re.I
)
UNSAFE_OPS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _names(node: ast.AST) -> set[str]:
    """Identifiers an operand is built from (string constants excluded: they are not secrets)."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
        elif (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr
            in (
                "digest",
                "hexdigest",
            )
        ):
            found.add(sub.func.attr)
    return found


def _is_boolean(node: ast.AST) -> bool:
    """Operands whose value is a bool or None carry nothing secret (``(a is None) == (b is None)``)."""
    return isinstance(node, ast.Compare | ast.BoolOp) or (
        isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool))
    )


def unsafe_comparisons(source: str, filename: str = "<snippet>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, UNSAFE_OPS) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(_is_boolean(o) for o in operands):
            continue
        names = set().union(*(_names(o) for o in operands))
        if any(SENSITIVE.search(name) for name in names):
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "ok = expected == signature",
        "ok = hmac.new(k, m, sha256).hexdigest() == header",
        "if presented != computed: raise X",
        "ok = sig in allowed",
        "ok = stored_hash == hash_api_key(key)",
        "ok = secret == provided",
        "ok = token == self.api_token",
    ],
)
def test_the_scan_catches_plain_comparisons_of_secrets(snippet: str) -> None:
    # When the scan reads code that compares a secret-derived value with ==, != or in
    # Then it reports the comparison
    assert unsafe_comparisons(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "ok = hmac.compare_digest(expected, signature)",
        'ok = name == "vai_token"',
        "ok = (self.key is None) == (self.key_hash is None)",
        'ok = key == "t"',
    ],
)
def test_the_scan_lets_constant_time_and_non_secret_comparisons_pass(snippet: str) -> None:
    # When the scan reads a constant-time comparison, or one of non-secret values
    # Then it reports nothing
    assert not unsafe_comparisons(snippet)


def test_no_secret_is_compared_with_plain_equality_in_functions() -> None:
    # Given every Python source of the functions package
    sources = sorted(FUNCTIONS.rglob("*.py"))
    assert len(sources) > 10  # the scan really reads the package
    # When each is scanned
    found = [hit for path in sources for hit in unsafe_comparisons(path.read_text(), str(path))]
    # Then no secret-derived value is compared with plain equality
    assert found == []


def test_signature_checks_compare_through_compare_digest() -> None:
    # The verifiers reach compare_digest through one helper; make sure it stays that way.
    # Given the providers' shared helper module
    base = (FUNCTIONS / "providers" / "base.py").read_text()
    # When its matches helper is found
    tree = ast.parse(base)
    [matches] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "matches"]
    # Then it compares through hmac.compare_digest
    assert "hmac.compare_digest" in ast.unparse(matches)
    # And every push provider's verifier calls it
    for module in ("extend", "exa", "klavi", "standard_webhooks"):
        source = (FUNCTIONS / "providers" / f"{module}.py").read_text()
        assert "matches(" in source, module
