"""MkDocs hook: fills the component catalogue page from the live registry at build time.

The page ``catalogue.md`` contains the marker ``<!-- catalogue -->``; it is replaced by one table per
component kind with the registered name, the object it builds, its inputs/outputs (the ``Shapes:``
section of its docstring) and what it implements (registry metadata ``paper``, else the first link to a
section of the FF-GAN page in its own or its module's docstring, else a line mentioning a paper or arXiv).
"""

from __future__ import annotations

import inspect
import re

MARKER = "<!-- catalogue -->"


def _shapes_section(doc: str) -> str:
    match = re.search(r"Shapes:\s*\n((?:[ \t]+.*\n?)+)", doc)
    if not match:
        return ""
    lines = [ln.strip() for ln in match.group(1).splitlines() if ln.strip()]
    return "<br>".join(ln.replace("|", "\\|") for ln in lines[:6])


_DOCS_LINK = re.compile(r"\[[^\]]+\]\[ffgan-[a-z0-9-]+\]")


def _reference(meta: dict, doc: str, module_doc: str) -> str:
    if meta.get("paper"):
        return str(meta["paper"])
    for text in (doc, module_doc):
        match = _DOCS_LINK.search(text)
        if match:
            return match.group(0)
    for line in doc.splitlines():
        if re.search(r"(arXiv|paper)", line, re.IGNORECASE):
            return line.strip().replace("|", "\\|")
    return ""


def render_catalogue() -> str:
    from fusionblocks import registry

    parts = []
    for kind in registry.KINDS:
        reg = registry.get_registry(kind)
        names = reg.names()
        parts.append(f"## `{kind}`\n")
        if not names:
            parts.append("_No components registered._\n")
            continue
        parts.append("| name | builds | inputs → outputs | implements |\n| --- | --- | --- | --- |")
        for name in names:
            obj = reg.get(name)
            doc = inspect.getdoc(obj) or ""
            summary = (doc.splitlines()[0] if doc else "").replace("|", "\\|")
            path = f"{obj.__module__}.{obj.__qualname__}"
            target = f"`{path}`"
            module_doc = inspect.getdoc(inspect.getmodule(obj)) or ""
            parts.append(
                f"| `{name}` | {target}<br>{summary} | {_shapes_section(doc)} | "
                f"{_reference(reg.metadata(name), doc, module_doc)} |"
            )
        parts.append("")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 - mkdocs hook signature
    if MARKER in markdown:
        return markdown.replace(MARKER, render_catalogue())
    return markdown
