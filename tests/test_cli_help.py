"""`--help` of every subcommand is plain text: no reST literals, block markers, roles or cross-references."""

from __future__ import annotations

import argparse
import re

from fusionblocks.cli import build_parser
from fusionblocks.cli._common import plain_text


def test_every_help_text_is_plain() -> None:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(sub.choices) >= 8
    for name, command in sub.choices.items():
        text = command.format_help()
        for pattern in (r"``", r"::\s*$", r":[a-z]+:`", r"\]\[", r"`"):
            assert not re.search(pattern, text, re.MULTILINE), (name, pattern)
        assert f"fusionblocks {name}" in text or name in text


def test_plain_text_removes_markup_and_keeps_the_words() -> None:
    doc = "``fusionblocks x``: see :class:`~a.B` and [`C`][a.C].\n\nExamples::\n\n    fusionblocks x --y\n"
    assert plain_text(doc) == "fusionblocks x: see a.B and C.\n\nExamples:\n\n    fusionblocks x --y\n"
