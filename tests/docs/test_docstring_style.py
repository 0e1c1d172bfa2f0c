"""Docstrings stand alone on the docs site: no references to a document outside the repository, no Sphinx roles
(they render literally; use mkdocstrings cross-references), and no ``Shapes:`` sections that only say there are no
tensors."""

from __future__ import annotations

import pathlib
import re

import fusionblocks

ROOT = pathlib.Path(fusionblocks.__file__).parent
RULES = {
    "a spec document outside the repository (link a section of docs/ffgan.md)": re.compile(
        r"spec ffgan\.md|spec §|ffgan\.md §|spec/ffgan|\bpitfall \d"
    ),
    "a Sphinx role (use [`name`][dotted.path])": re.compile(r":(class|func|meth|attr|mod|data|obj|exc):`"),
    "a Shapes section without tensors (drop it)": re.compile(
        r"Shapes:\s*\n\s*(Not applicable|Not tensor-valued|Strings only|Scalars only)"
    ),
}


def test_docstrings_follow_the_docs_site_conventions() -> None:
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for what, pattern in RULES.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT.parent)}:{line}: {what}")
    assert not problems, "\n".join(problems)
