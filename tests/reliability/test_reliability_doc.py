"""docs/reliability.md reports the suite's own numbers and lists every fault point the library has."""

from __future__ import annotations

import re
from pathlib import Path

from fusionblocks._faults import FAULT_POINTS

from .counts import reliability_counts

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def test_the_page_reports_the_suite_counts():
    text = DOC.read_text(encoding="utf-8")
    for label, count in reliability_counts().items():
        match = re.search(rf"^\| {label} \| (\d+) \|$", text, flags=re.M)
        assert match is not None, f"docs/reliability.md has no row '| {label} | N |'"
        assert int(match.group(1)) == count, f"docs/reliability.md says {label} = {match.group(1)}, the suite {count}"


def test_the_page_lists_every_fault_point():
    text = DOC.read_text(encoding="utf-8")
    for point in FAULT_POINTS:
        assert f"| `{point}` |" in text, point
