"""Every Python snippet in the docs runs.

Each page's ```python blocks are executed in order in one namespace (so a page can build on its
earlier snippets), in a temporary working directory, on CPU. A block directly preceded by the line
``<!-- no-run -->`` is shown but not executed (used only for GPU-sized or data-dependent commands,
which the page then also shows in a runnable small form).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"(?P<pre>(?:^[^\n]*\n)?)^```python[^\n]*\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)


def extract_snippets(text: str) -> list[str]:
    """The runnable ```python blocks of a Markdown page, in order."""
    snippets = []
    for match in FENCE.finditer(text):
        if "<!-- no-run -->" in match.group("pre"):
            continue
        snippets.append(match.group("code"))
    return snippets


def test_extractor_finds_blocks_and_honours_no_run() -> None:
    page = "intro\n```python\nx = 1\n```\n<!-- no-run -->\n```python\nraise SystemExit\n```\n```bash\nls\n```\n"
    assert extract_snippets(page) == ["x = 1\n"]


@pytest.mark.usefixtures("restore_registries")
@pytest.mark.parametrize("page", [p for p in PAGES if extract_snippets(p.read_text())], ids=lambda p: str(p.relative_to(ROOT)))
def test_page_snippets_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for index, code in enumerate(extract_snippets(page.read_text())):
        try:
            exec(compile(code, f"{page.name}[snippet {index}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{page.relative_to(ROOT)} snippet {index} failed:\n{code}") from exc
