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


def test_nothing_in_the_repository_cites_a_spec_document_users_do_not_have() -> None:
    repo = ROOT.parent
    pattern = RULES["a spec document outside the repository (link a section of docs/ffgan.md)"]
    files = [repo / name for name in ("README.md", "DEVELOPERS.md")]
    for folder in ("docs", "tests", "examples", "benchmarks"):
        files += [p for p in (repo / folder).rglob("*") if p.suffix in (".py", ".md", ".sh", ".yaml", ".yml")]
    problems = []
    for path in sorted(p for p in files if p.is_file() and p != pathlib.Path(__file__).resolve()):
        text = path.read_text(encoding="utf-8")
        problems += [f"{path.relative_to(repo)}:{text.count(chr(10), 0, m.start()) + 1}" for m in pattern.finditer(text)]
    assert not problems, "spec references (link a section of docs/ffgan.md instead): " + ", ".join(problems)
