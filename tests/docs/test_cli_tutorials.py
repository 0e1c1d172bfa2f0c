"""The tutorials' commands run as written.

Every ```bash block of the getting-started page and of every tutorial is marked ``<!-- cli-test -->`` and executed
here command by command through ``fusionblocks.cli.main`` (after the page's runnable Python blocks before it, in
page order, in one temporary folder). Only sizes are made small: ``--steps``, ``--batch-size``, ``--num``,
``--num-samples`` and ``--epochs`` get small values (``ADDED``: a ``train`` without ``--steps`` trains 2 steps, a
``--resume`` one more; ``stats`` reads 8 images), the presets get small widths (``SMALL_PRESETS``; the official ones
also their smallest image size; ``convert`` the widths only), the Inception networks see 75² inputs instead of 299²,
and every run is pinned to one CPU thread (no data-loader workers).

What a page assumes its reader already has (a CUB or COCO folder, the released DAMSM encoders, Inception weights, an
official generator, a finished run) is put where the page expects it by the page's stand-in function (small random
files from ``_standins.py``) before its commands run. ``torchrun`` lines run under torchrun (gloo, as written) when
they ask for ``--device cpu``; the GPU ones run their ``fusionblocks`` command in one CPU process. The few lines
that are not ``fusionblocks`` commands (``make``, ``pip``) are listed in ``NOT_RUN`` with the reason. Afterwards,
page-specific checks look at what the runs produced, e.g. that the trained text encoders read the captions with
their own vocabulary, no word collapsed to ``<unk>``.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import _standins as standins

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ["docs/getting-started.md",
             *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "tutorials").glob("*.md"))]
BLOCK = re.compile(r"(?P<pre>(?:^[^\n]*\n)?)^```(?P<lang>python|bash)[^\n]*\n(?P<code>.*?)^```",
                   re.MULTILINE | re.DOTALL)
SMALL = {"--steps": "2", "--batch-size": "4", "--num": "1", "--num-samples": "8", "--epochs": "1"}
#: Size flags added where a command line leaves them to the preset (preset schedules run for days; the official
#: batch sizes are larger than the stand-in data sets). A resumed run keeps its batch size and goes one step on.
ADDED = {"train": {"--steps": "2", "--batch-size": "4"}, "pretrain-damsm": {"--batch-size": "4"},
         "stats": {"--num": "8"}}
RESUMED = {"train": {"--steps": "3"}}
PINNED = {"train", "pretrain-damsm", "sample", "eval", "stats"}
#: ``--set`` values that shrink a preset's networks (for the commands that build them).
SMALL_PRESETS = {"cub256": standins.SMALL_PRESET_SETS, "coco256": standins.SMALL_PRESET_SETS,
                 "tiny64": standins.SMALL_WIDTHS}
#: Lines of tutorial bash blocks that are not fusionblocks commands, and why no test runs them as written.
NOT_RUN = {
    "make demo": "creates a virtualenv (network) and trains for minutes; what it runs, `python -m fusionblocks.demo`, "
                 "runs with a few steps in tests/train/test_demo.py, and the page's `runs/demo` is stood in for by a "
                 "one-step run here",
    "make test": "runs this test suite, this test included",
    "pip install -r requirements-pins.txt": "installs packages from the network; the tests run in that installation",
    'pip install -e ".[dev,docs]"': "installs packages from the network; the tests run in that installation",
}


@dataclass(frozen=True)
class Command:
    """One command line of a bash block: ``kind`` is ``"cli"``, ``"torchrun"`` (``nproc`` processes) or
    ``"not-run"`` (a ``NOT_RUN`` line); ``argv`` is the ``fusionblocks`` argument list."""

    kind: str
    argv: tuple[str, ...]
    line: str
    nproc: int = 1


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


def untested_bash_blocks(text: str) -> list[str]:
    """The bash blocks of a page not marked ``<!-- cli-test -->``."""
    return [m.group("code") for m in BLOCK.finditer(text)
            if m.group("lang") == "bash" and "<!-- cli-test -->" not in m.group("pre")]


def commands(block: str) -> list[Command]:
    """The command lines of a bash block (continuations joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line:
            continue
        argv = shlex.split(line)
        if line in NOT_RUN:
            out.append(Command("not-run", tuple(argv), line))
        elif argv[0] == "fusionblocks":
            out.append(Command("cli", tuple(argv[1:]), line))
        elif argv[0] == "torchrun" and "-m" in argv and argv[argv.index("-m") + 1] == "fusionblocks":
            nproc = int(argv[argv.index("--nproc_per_node") + 1]) if "--nproc_per_node" in argv else 1
            out.append(Command("torchrun", tuple(argv[argv.index("-m") + 2:]), line, nproc))
        else:
            raise AssertionError(f"cli-test blocks hold fusionblocks or torchrun commands (or NOT_RUN lines), "
                                 f"got {line!r}")
    return out


def small(argv: tuple[str, ...] | list[str]) -> list[str]:
    """``argv`` with the sizes of ``SMALL``/``ADDED``/``RESUMED``/``SMALL_PRESET_SETS``, one CPU thread and no
    workers."""
    out = list(argv)
    for i, token in enumerate(out[:-1]):
        if token in SMALL:
            out[i + 1] = SMALL[token]
    command = out[0]
    resuming = command == "train" and "--resume" in out
    for flag, value in (RESUMED if resuming else ADDED).get(command, {}).items():
        if flag not in out:
            out += [flag, value]
    preset = out[out.index("--preset") + 1] if "--preset" in out else None
    if preset in SMALL_PRESETS and command in ("train", "pretrain-damsm", "convert"):
        sets = standins.CONVERT_SETS if command == "convert" else SMALL_PRESETS[preset]
        out += [x for setting in sets for x in ("--set", setting)]
    if command in PINNED:
        out += ["--device", "cpu", "--threads", "1"]
        if command in ("train", "pretrain-damsm"):
            out += ["--no-progress", "--num-workers", "0"]
    return out


def test_command_extraction() -> None:
    block = ("fusionblocks train --steps 2000 \\\n    --out runs/x   # comment\n\nfusionblocks info runs/x\n"
             "torchrun --nproc_per_node 4 -m fusionblocks train --out runs/x --resume\nmake test\n")
    found = commands(block)
    assert [c.argv for c in found] == [("train", "--steps", "2000", "--out", "runs/x"), ("info", "runs/x"),
                                       ("train", "--out", "runs/x", "--resume"), ("make", "test")]
    assert [c.kind for c in found] == ["cli", "cli", "torchrun", "not-run"] and found[2].nproc == 4
    assert small(found[0].argv)[:3] == ["train", "--steps", "2"]
    sets = [x for setting in standins.SMALL_PRESET_SETS for x in ("--set", setting)]
    assert small(["train", "--preset", "cub256", "--batch-size", "16"]) == [
        "train", "--preset", "cub256", "--batch-size", "4", "--steps", "2", *sets,
        "--device", "cpu", "--threads", "1", "--no-progress", "--num-workers", "0"]
    assert small(["train", "--out", "r", "--resume"])[:6] == ["train", "--out", "r", "--resume", "--steps", "3"]
    tiny = small(["train", "--preset", "tiny64"])
    assert "model.ngf=4" in tiny and not any(a.startswith("model.image_size") for a in tiny)
    assert small(["convert", "--preset", "cub256", "--out", "r"]) == [
        "convert", "--preset", "cub256", "--out", "r", *[x for c in standins.CONVERT_SETS for x in ("--set", c)]]
    assert small(["stats", "data", "--out", "x.npz"])[4:6] == ["--num", "8"]
    with pytest.raises(AssertionError, match="python"):
        commands("python train.py\n")
    page = ("<!-- cli-test -->\n```bash\nfusionblocks list\n```\n```bash\nfusionblocks nothing\n```\n"
            "```python\nx = 1\n```\n")
    assert page_blocks(page) == [("cli", "fusionblocks list\n"), ("python", "x = 1\n")]
    assert untested_bash_blocks(page) == ["fusionblocks nothing\n"]


def _no_collapsed_captions(vocabulary_words: list[str], captions: list[str], where: str) -> None:
    """Every token of every caption is in the vocabulary (nothing dropped), and different token sequences stay
    different after encoding."""
    from fusionblocks.text import Vocabulary, tokenize, vocabulary_coverage

    vocabulary = Vocabulary(vocabulary_words)
    coverage = vocabulary_coverage(vocabulary, captions)
    assert coverage.num_unknown == 0, f"{where}: unknown words {coverage.examples()}"
    by_tokens = {tuple(tokenize(c)): tuple(vocabulary.encode(c)) for c in captions}
    assert len(set(by_tokens.values())) == len(by_tokens), f"{where}: distinct captions share token ids"


def _checkpoint(path: Path):
    from fusionblocks.train.checkpoint import load_checkpoint

    return load_checkpoint(path, groups=[])


def _finished_run(out: str, preset: str = "tiny64", *sets: str) -> None:
    """A run folder as a finished run leaves it (here: one step at small widths, random encoders)."""
    from fusionblocks.cli import main

    args = ["train", "--preset", preset, "--steps", "1", "--batch-size", "4", "--sample-every", "0",
            "--allow-random-encoders", "--out", out, "--device", "cpu", "--threads", "1", "--no-progress",
            *[x for s in ("model.ngf=4", "model.ndf=4", *sets) for x in ("--set", s)]]
    assert main(args) == 0


@pytest.fixture(scope="module")
def inception_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random Inception-v3 weights, written once: ``imagenet`` (1000 classes, ``image.backbone_weights``) and
    ``fid`` (1008 classes, pytorch-fid's layout for ``--inception-weights``)."""
    folder = tmp_path_factory.mktemp("inception")
    return {"imagenet": standins.inception_v3_weights(folder / "imagenet.pth"),
            "fid": standins.inception_v3_weights(folder / "fid.pth", num_classes=1008)}


def _link(target: Path, name: str) -> None:
    Path(name).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, name)


# --- the stand-ins of each page (run in the page's folder) and the checks after its commands ---

def _standins_getting_started(files: dict[str, Path]) -> None:
    _finished_run("runs/demo")  # what `make demo` leaves: a run and the judge's shape classifier
    standins.demo_shape_classifier("runs/demo/shape_classifier.safetensors")


def _check_getting_started(folder: Path) -> None:
    import json

    report = json.loads((folder / "runs" / "demo" / "eval.json").read_text())
    assert {"attributes", "rprec"} <= set(report["metrics"]), report.keys()
    judge = report["metrics"]["attributes"]["judge"]  # the demo's classifier was used, not a new one trained
    assert judge["shape_classifier_source"] == "runs/demo/shape_classifier.safetensors"
    names = sorted(p.name for p in (folder / "samples").glob("*.png"))  # two captions at --num 1, the grids
    assert names == ["000_a_large_green_circle_0.png", "001_a_small_blue_triangle_0.png", "attention.png",
                     "grid.png"], names


def _standins_sampling(files: dict[str, Path]) -> None:
    from fusionblocks.ffgan import preset_config
    from fusionblocks.train import smoke_overrides

    _finished_run("runs/demo")
    overrides = {**smoke_overrides(preset_config("cub256")), "train.steps": 1}
    _finished_run("runs/ffgan_cub", "cub256", *(f"{k}={v}" for k, v in overrides.items() if v is not None))
    Path("my_captions.txt").write_text("a small red circle\na large blue square\n")


def _check_sampling(folder: Path) -> None:
    names = sorted(p.name for p in (folder / "samples").glob("*.png"))
    assert "grid.png" in names and any("large_blue_square" in n for n in names), names


def _standins_multi_gpu(files: dict[str, Path]) -> None:
    standins.attngan_folder("data/birds")
    standins.released_damsm_encoders("DAMSMencoders/bird", "data/birds/captions.pickle")
    _link(files["imagenet"], "inception_v3_google.pth")


def _check_multi_gpu(folder: Path) -> None:
    from fusionblocks.ffgan.provenance import file_sha256

    cub = _checkpoint(folder / "runs" / "ffgan_cub")
    assert cub.config["name"] == "cub256" and cub.step == 3  # two steps, then one more after `--resume`
    assert [h["step"] for h in cub.state["resume_history"]] == [2]  # continued from step 2, not started again
    released = folder / "DAMSMencoders" / "bird" / "text_encoder200.pth"
    assert cub.state["provenance"]["text_encoder"]["weights_sha256"] == file_sha256(released)
    ddp = _checkpoint(folder / "runs" / "ddp_cpu")
    assert ddp.step == 2 and ddp.state["world_size"] == 2


def _standins_official(files: dict[str, Path]) -> None:
    standins.attngan_folder("data/birds")
    standins.released_damsm_encoders("DAMSMencoders/bird", "data/birds/captions.pickle")
    os.symlink("DAMSMencoders/bird/text_encoder200.pth", "text_encoder200.pth")
    standins.official_generator("netG_epoch_650.pth")
    _link(files["imagenet"], "inception_v3_google-0cc3c7bd.pth")


def _check_official(folder: Path) -> None:
    from fusionblocks.text import Vocabulary

    official = _checkpoint(folder / "runs" / "ffgan_cub_official")
    assert official.state["source"] == "official" and official.state["epoch"] == 650
    assert official.config["image"]["encoder"] is None  # no --image-encoder: none, rather than a random one
    assert (folder / "samples" / "grid.png").is_file()
    converted = Vocabulary.load(folder / "encoders" / "bird" / "vocabulary.json")
    assert converted == Vocabulary.from_attngan_pickle(folder / "data" / "birds" / "captions.pickle")
    run = _checkpoint(folder / "runs" / "ffgan_cub")
    assert run.state["vocabulary"] == converted.itos
    assert run.state["provenance"]["vocabulary"]["source"].endswith("encoders/bird/vocabulary.json")


def _standins_own_data(files: dict[str, Path]) -> None:
    _link(files["fid"], "pt_inception-2015-12-05-6726825d.pth")


def _check_own_data(folder: Path) -> None:
    import json

    from fusionblocks.data import CaptionFolder
    from fusionblocks.text import Vocabulary

    captions = [c for caps in CaptionFolder(folder / "my_data").all_captions() for c in caps]
    assert any(c.startswith("a photo of") for c in captions)
    damsm = Vocabulary.load(folder / "runs" / "my_damsm" / "vocabulary.json")
    _no_collapsed_captions(damsm.itos, captions, "the pre-trained DAMSM text encoder")
    ck = _checkpoint(folder / "runs" / "my_data")
    assert ck.state["vocabulary"] == damsm.itos  # the GAN run used the encoders' own vocabulary
    _no_collapsed_captions(ck.state["vocabulary"], captions, "the GAN run's text encoder")
    assert Vocabulary.load(folder / "my_data_vocab.json") == damsm  # `vocab build` gives the same one
    assert ck.state["provenance"]["text_encoder"]["weights_sha256"]
    assert (folder / "samples" / "grid.png").is_file() and (folder / "my_data_ref.npz").is_file()
    report = json.loads((folder / "runs" / "my_data" / "eval.json").read_text())  # the FID run wrote it last
    assert {"fid", "kid", "is", "rprec"} <= set(report["metrics"])


def _standins_cub_coco(files: dict[str, Path]) -> None:
    standins.attngan_folder("data/birds")
    standins.attngan_folder("data/coco", "coco")
    standins.released_damsm_encoders("DAMSMencoders/bird", "data/birds/captions.pickle")
    standins.released_damsm_encoders("DAMSMencoders/coco", "data/coco/captions.pickle", epoch=100)
    _link(files["imagenet"], "inception_v3_google.pth")


def _check_cub_coco(folder: Path) -> None:
    from fusionblocks.data import CUBDataset, dataset_vocabulary
    from fusionblocks.text import Vocabulary

    for data, run in (("data/birds", "runs/ffgan_cub"), ("data/coco", "runs/ffgan_coco")):
        ck = _checkpoint(folder / run)
        assert ck.state["vocabulary"] == Vocabulary.from_attngan_pickle(folder / data / "captions.pickle").itos, run
    assert (folder / "runs" / "damsm_cub" / "vocabulary.json").is_file()
    for data, run, source in (("fake_birds", "fake_cub", "captions.pickle"),
                              ("fake_birds_text", "fake_cub_text", "(no captions pickle found)")):
        dataset = CUBDataset(folder / data, "train", base_size=32, num_scales=1, captions_per_image=3)
        captions = [c for i in range(len(dataset)) for c in dataset.captions(i)]
        ck = _checkpoint(folder / "runs" / run)
        assert ck.state["vocabulary"] == dataset.vocabulary.itos, run  # the dataset's own vocabulary
        _no_collapsed_captions(ck.state["vocabulary"], captions, run)
        assert dataset_vocabulary("cub", folder / data).source.endswith(source)
        # the GAN run took the vocabulary saved with its pre-trained text encoder, which is the dataset's
        assert ck.state["provenance"]["vocabulary"]["source"].endswith("vocabulary.json")
        assert (folder / "runs" / run / "eval.json").is_file()
    assert (folder / "fake_birds" / "captions.pickle").is_file()
    assert not (folder / "fake_birds_text" / "captions.pickle").exists()
    assert Vocabulary.load(folder / "fake_birds_vocab.json").itos == _checkpoint(folder / "runs" / "fake_cub").state[
        "vocabulary"]


Standins = Callable[[dict[str, Path]], None]
PAGES: dict[str, tuple[Standins | None, Callable[[Path], None]]] = {
    "docs/getting-started.md": (_standins_getting_started, _check_getting_started),
    "docs/tutorials/multi-gpu.md": (_standins_multi_gpu, _check_multi_gpu),
    "docs/tutorials/official-checkpoints.md": (_standins_official, _check_official),
    "docs/tutorials/own-data.md": (_standins_own_data, _check_own_data),
    "docs/tutorials/sampling.md": (_standins_sampling, _check_sampling),
    "docs/tutorials/train-cub-coco.md": (_standins_cub_coco, _check_cub_coco),
}


def test_every_tutorial_command_is_run() -> None:
    """Every bash block of every tutorial is a cli-test block, and every page with one is run below."""
    for page in TUTORIALS:
        text = (ROOT / page).read_text()
        assert not untested_bash_blocks(text), f"{page}: a bash block without <!-- cli-test -->"
    marked = {str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md") if "<!-- cli-test -->" in p.read_text()}
    assert marked == set(PAGES) and set(PAGES) <= set(TUTORIALS)
    not_run = {c.line for page in PAGES for kind, code in page_blocks((ROOT / page).read_text()) if kind == "cli"
               for c in commands(code) if c.kind == "not-run"}
    assert not_run == set(NOT_RUN), "NOT_RUN lists a line no page has"  # no stale excuses
    assert all(len(reason) > 20 for reason in NOT_RUN.values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _torchrun(command: Command) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node N -m fusionblocks ARGV`` (sizes small), as a user runs it, on a free port (the
    default one may be taken by another run on this machine)."""
    path = [str(ROOT), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(path)}
    argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(min(command.nproc, 2)),
            "--master_port", str(_free_port()), "-m", "fusionblocks", *small(command.argv)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(PAGES))
def test_cli_tutorial_runs_as_written(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys,
                                      inception_files: dict[str, Path]) -> None:
    from fusionblocks.cli import main
    from fusionblocks.image import damsm_inception
    from fusionblocks.metrics.inception import InceptionFeatureExtractor

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(damsm_inception, "INCEPTION_INPUT_SIZE", standins.SMALL_INCEPTION_INPUT)
    monkeypatch.setattr(InceptionFeatureExtractor, "input_size", standins.SMALL_INCEPTION_INPUT)
    make_standins, check = PAGES[page]
    if make_standins is not None:
        make_standins(inception_files)
    capsys.readouterr()
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    for kind, code in page_blocks((ROOT / page).read_text()):
        if kind == "python":
            exec(compile(code, page, "exec"), namespace)
            continue
        for command in commands(code):
            if command.kind == "not-run":
                continue
            if command.kind == "torchrun" and "--device" in command.argv and "cpu" in command.argv:
                done = _torchrun(command)
                assert done.returncode == 0, (f"{page}: `{command.line}` exited {done.returncode}:\n"
                                              f"{done.stderr[-3000:]}")
            else:  # a command line, or a GPU torchrun line: its fusionblocks command in this (CPU) process
                status = main(small(command.argv))
                captured = capsys.readouterr()
                assert status == 0, f"{page}: `{command.line}` exited {status}:\n{captured.err[-2000:]}"
            ran += 1
    assert ran, f"{page}: no command ran"
    check(tmp_path)
