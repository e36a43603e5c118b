"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized stack."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.infrastructure.template import Synthesized


def _nag_report(synthesized: Synthesized) -> list[dict[str, str]]:
    (report,) = synthesized.outdir.glob("AwsSolutions-*NagReport.csv")
    with report.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_cdk_nag_reports_no_unsuppressed_error_or_warning(synthesized: Synthesized) -> None:
    # When cdk-nag's AwsSolutions checks run on the synthesized stack
    findings = [
        (m.level, m.id, str(m.entry.data)[:200])
        for m in synthesized.messages
        if m.level in ("error", "warning") and "AwsSolutions-" in str(m.entry.data)
    ]
    # Then they report no error or warning
    assert findings == []
    # And the report shows they checked the stack, and nothing in it is non-compliant
    rows = _nag_report(synthesized)
    assert rows, "cdk-nag ran and checked the stack"
    assert [r for r in rows if r["Compliance"] == "Non-Compliant"] == []


def test_every_cdk_nag_suppression_gives_a_specific_reason(synthesized: Synthesized) -> None:
    # When the cdk-nag report's suppressed findings are read
    suppressed = [r for r in _nag_report(synthesized) if r["Compliance"] == "Suppressed"]
    # Then there are some
    assert suppressed
    # And each gives a specific reason of its own, no placeholder
    for row in suppressed:
        reason = row["Exception Reason"]
        assert len(reason) >= 60, (row["Rule ID"], row["Resource ID"], reason)
        assert "TODO" not in reason and "N/A" not in reason


def test_the_stack_synthesizes_without_cdk_warnings(synthesized: Synthesized) -> None:
    # When the stack is synthesized
    # Then CDK reports nothing above info
    assert [(m.level, m.id, str(m.entry.data)[:200]) for m in synthesized.messages if m.level != "info"] == []


def test_cfn_lint_passes_on_the_synthesized_template(synthesized: Synthesized, tmp_path: Path) -> None:
    # Given the synthesized template written to a file
    from cfnlint.api import ManualArgs, lint_file

    template = tmp_path / "EventHub.template.json"
    template.write_text(json.dumps(synthesized.template.to_json(), indent=1))
    # When cfn-lint checks it for us-east-1
    matches = lint_file(template, config=ManualArgs(regions=["us-east-1"]))
    # Then it finds nothing
    assert [str(match) for match in matches] == []
