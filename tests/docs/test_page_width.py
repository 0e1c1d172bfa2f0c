"""Code on the docs site fits its column: the widened content column (docs/stylesheets/extra.css) shows 116
columns of code without a scrollbar on a 1280-pixel-wide window (measured in headless Chromium)."""

from __future__ import annotations

import pathlib

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
MAX_COLUMNS = 116


def test_code_lines_in_the_docs_fit_the_content_column() -> None:
    too_wide = []
    for page in sorted(DOCS.rglob("*.md")):
        in_code = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_code = not in_code
            elif in_code and len(line) > MAX_COLUMNS:
                too_wide.append(f"{page.relative_to(DOCS)}:{number} ({len(line)} columns)")
    assert not too_wide, "code lines wider than the content column: " + ", ".join(too_wide)


def test_the_home_page_shows_the_demo_grid_and_has_no_empty_table_header() -> None:
    home = (DOCS / "index.md").read_text(encoding="utf-8")
    assert "](assets/demo_final_grid.png)" in home and (DOCS / "assets" / "demo_final_grid.png").exists()
    assert "| | |" not in home
