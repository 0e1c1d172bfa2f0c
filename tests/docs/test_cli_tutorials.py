"""The command-line tutorials run as written: every ```bash block marked ``<!-- cli-test -->`` is executed command by
command through ``fusionblocks.cli.main`` (after the page's Python blocks before it, in page order, in one temporary
folder), with only the sizes made small (``--steps``, ``--batch-size``, ``--num``, ``--num-samples``, ``--epochs``)
and the run pinned to one CPU thread. Afterwards, page-specific checks look at what the runs produced: the trained
text encoders read the captions with their own vocabulary, no word collapsed to nothing."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"(?P<pre>(?:^[^\n]*\n)?)^```(?P<lang>python|bash)[^\n]*\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
SMALL = {"--steps": "2", "--batch-size": "4", "--num": "1", "--num-samples": "8", "--epochs": "1"}
PINNED = {"train", "pretrain-damsm", "sample", "eval", "stats"}


def page_blocks(text: str) -> list[tuple[str, str]]:
    """``(kind, code)`` in page order: runnable Python blocks and ``<!-- cli-test -->`` bash blocks."""
    out = []
    for match in BLOCK.finditer(text):
        pre = match.group("pre")
        if match.group("lang") == "python" and "<!-- no-run -->" not in pre:
            out.append(("python", match.group("code")))
        elif match.group("lang") == "bash" and "<!-- cli-test -->" in pre:
            out.append(("cli", match.group("code")))
    return out


def commands(block: str) -> list[list[str]]:
    """The ``fusionblocks`` command lines of a bash block (continuations joined, comments dropped), as argv lists
    without the program name."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line:
            continue
        argv = shlex.split(line)
        assert argv[0] == "fusionblocks", f"cli-test blocks hold fusionblocks commands only, got {line!r}"
        out.append(argv[1:])
    return out


def small(argv: list[str]) -> list[str]:
    """``argv`` with the sizes of ``SMALL`` and one CPU thread."""
    out = list(argv)
    for i, token in enumerate(out[:-1]):
        if token in SMALL:
            out[i + 1] = SMALL[token]
    if out[0] in PINNED:
        out += ["--device", "cpu", "--threads", "1"]
        if out[0] in ("train", "pretrain-damsm"):
            out.append("--no-progress")
    return out


def test_command_extraction() -> None:
    block = "fusionblocks train --steps 2000 \\\n    --out runs/x   # comment\n\nfusionblocks info runs/x\n"
    assert commands(block) == [["train", "--steps", "2000", "--out", "runs/x"], ["info", "runs/x"]]
    assert small(commands(block)[0])[:3] == ["train", "--steps", "2"]
    page = "<!-- cli-test -->\n```bash\nfusionblocks list\n```\n```bash\nfusionblocks nothing\n```\n```python\nx = 1\n```\n"
    assert page_blocks(page) == [("cli", "fusionblocks list\n"), ("python", "x = 1\n")]


def _no_collapsed_captions(vocabulary_words: list[str], captions: list[str], where: str) -> None:
    """Every token of every caption is in the vocabulary (nothing dropped), and different token sequences stay
    different after encoding."""
    from fusionblocks.text import Vocabulary, tokenize, vocabulary_coverage

    vocabulary = Vocabulary(vocabulary_words)
    coverage = vocabulary_coverage(vocabulary, captions)
    assert coverage.num_unknown == 0, f"{where}: unknown words {coverage.examples()}"
    by_tokens = {tuple(tokenize(c)): tuple(vocabulary.encode(c)) for c in captions}
    assert len(set(by_tokens.values())) == len(by_tokens), f"{where}: distinct captions share token ids"


def _check_own_data(folder: Path) -> None:
    from fusionblocks.data import CaptionFolder
    from fusionblocks.text import Vocabulary
    from fusionblocks.train.checkpoint import load_checkpoint

    captions = [c for caps in CaptionFolder(folder / "my_data").all_captions() for c in caps]
    assert any(c.startswith("a photo of") for c in captions)
    damsm = Vocabulary.load(folder / "runs" / "my_damsm" / "vocabulary.json")
    _no_collapsed_captions(damsm.itos, captions, "the pre-trained DAMSM text encoder")
    ck = load_checkpoint(folder / "runs" / "my_data", groups=[])
    assert ck.state["vocabulary"] == damsm.itos  # the GAN run used the encoders' own vocabulary
    _no_collapsed_captions(ck.state["vocabulary"], captions, "the GAN run's text encoder")
    assert Vocabulary.load(folder / "my_data_vocab.json") == damsm  # `vocab build` gives the same one
    assert ck.state["provenance"]["text_encoder"]["weights_sha256"]
    assert (folder / "runs" / "my_data" / "eval.json").is_file() and (folder / "samples" / "grid.png").is_file()


def _check_fake_cub(folder: Path) -> None:
    from fusionblocks.data import CUBDataset, dataset_vocabulary
    from fusionblocks.text import Vocabulary
    from fusionblocks.train.checkpoint import load_checkpoint

    for data, run, source in (("fake_birds", "fake_cub", "captions.pickle"),
                              ("fake_birds_text", "fake_cub_text", "(no captions pickle found)")):
        dataset = CUBDataset(folder / data, "train", base_size=32, num_scales=1, captions_per_image=3)
        captions = [c for i in range(len(dataset)) for c in dataset.captions(i)]
        ck = load_checkpoint(folder / "runs" / run, groups=[])
        assert ck.state["vocabulary"] == dataset.vocabulary.itos, run  # the dataset's own vocabulary
        _no_collapsed_captions(ck.state["vocabulary"], captions, run)
        assert dataset_vocabulary("cub", folder / data).source.endswith(source)
        # the GAN run took the vocabulary saved with its pre-trained text encoder, which is the dataset's
        assert ck.state["provenance"]["vocabulary"]["source"].endswith("vocabulary.json")
        assert (folder / "runs" / run / "eval.json").is_file()
    assert (folder / "fake_birds" / "captions.pickle").is_file() and not (folder / "fake_birds_text" / "captions.pickle").exists()
    assert Vocabulary.load(folder / "fake_birds_vocab.json").itos == load_checkpoint(folder / "runs" / "fake_cub",
                                                                                     groups=[]).state["vocabulary"]


PAGES: dict[str, Callable[[Path], None]] = {
    "docs/tutorials/own-data.md": _check_own_data,
    "docs/tutorials/train-cub-coco.md": _check_fake_cub,
}


def test_every_cli_tested_page_is_listed() -> None:
    marked = {str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md") if "<!-- cli-test -->" in p.read_text()}
    assert marked == set(PAGES)


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(PAGES))
def test_cli_tutorial_runs_as_written(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from fusionblocks.cli import main

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    for kind, code in page_blocks((ROOT / page).read_text()):
        if kind == "python":
            exec(compile(code, page, "exec"), namespace)
            continue
        for argv in commands(code):
            status = main(small(argv))
            captured = capsys.readouterr()
            assert status == 0, f"{page}: `fusionblocks {' '.join(argv)}` exited {status}:\n{captured.err[-2000:]}"
            ran += 1
    assert ran >= 4
    PAGES[page](tmp_path)
