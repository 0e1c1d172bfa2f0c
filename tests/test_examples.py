"""Every example runs end to end with --smoke (a few CPU steps on CaptionedShapes), in-process."""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

import pytest

from fusionblocks.train.checkpoint import load_checkpoint

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "preset"), [("train_ffgan", "cub256"), ("train_ffgan", "coco256"),
                                            ("train_dfgan_variant", "dfgan_ffblock")])
def test_train_examples_smoke(name, preset, tmp_path):
    _load(name).main(["--smoke", "--preset", preset, "--steps", "2", "--out", str(tmp_path / "run")])
    ck = load_checkpoint(tmp_path / "run")
    assert ck.step == 2 and ck.config["name"] == preset
    assert ck.config["model"]["num_stages"] == (1 if "dfgan" in preset else 3)
    assert ck.config["data"]["dataset"] == "captioned_shapes"
    assert ck.state["recipe"] == ("dfgan" if "dfgan" in preset else "ffgan")
    assert ck.state["vocabulary"][:1] == ["<end>"] and len(ck.state["vocabulary"]) > 10  # the dataset's vocabulary
    assert ck.state["trainer"]["device"] == "cpu" and ck.state["trainer"]["num_workers"] == 0


def test_smoke_device_keeps_the_device_workers_and_precision_and_resume_takes_a_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    module = _load("train_ffgan")
    module.main(["--smoke", "--smoke-device", "--device", "cpu", "--workers", "2", "--precision", "auto",
                 "--steps", "2", "--out", str(run)])
    ck = load_checkpoint(run)
    assert ck.state["trainer"]["num_workers"] == 2
    assert "bf16" in capsys.readouterr().out  # auto: bf16 where supported (CPU)
    first = ck.path
    # --resume CHECKPOINT continues from that checkpoint, as `fusionblocks train --resume CHECKPOINT` does
    module.main(["--smoke", "--steps", "3", "--out", str(tmp_path / "other"), "--resume", str(first)])
    assert load_checkpoint(tmp_path / "other").step == 3
    module.main(["--smoke", "--steps", "4", "--out", str(run), "--resume"])  # bare --resume: the newest in --out
    assert load_checkpoint(run).step == 4
    with pytest.raises(SystemExit, match="--smoke-device"):
        module.main(["--smoke-device", "--out", str(tmp_path / "x")])


def test_real_data_needs_pretrained_encoders_and_takes_the_datasets_vocabulary(tmp_path):
    """A tiny AttnGAN-layout folder without captions.pickle: the vocabulary is built from its text/ captions."""
    from fusionblocks.data import CaptionedShapes
    from fusionblocks.data import write_attngan_layout

    data = tmp_path / "birds"
    shapes = CaptionedShapes(size=12, resolution=32, split="train", max_objects=1, captions_per_image=2)
    write_attngan_layout(data, shapes, CaptionedShapes(size=4, resolution=32, split="test", max_objects=1,
                                                       captions_per_image=2), captions_pickle=False)
    module = _load("train_dfgan_variant")
    small = ["--set", "model.image_size=16", "--set", "model.ngf=4", "--set", "model.ndf=4",
             "--set", "text.embedding_dim=8", "--set", "text.hidden_dim=16", "--set", "data.captions_per_image=2",
             "--set", "model.ffblock_resolutions=[8]", "--batch-size", "4", "--steps", "1", "--workers", "0",
             "--device", "cpu", "--sample-every", "0", "--checkpoint-every", "0"]
    with pytest.raises(ValueError, match="text.weights"):
        module.main(["--data", str(data), *small, "--out", str(tmp_path / "run")])
    module.main(["--data", str(data), *small, "--allow-random-encoders", "--out", str(tmp_path / "run")])
    ck = load_checkpoint(tmp_path / "run")
    words = set(ck.state["vocabulary"])
    assert {"circle", "square", "red"} & words and ck.state["provenance"]["vocabulary"]["source"].startswith("built")


def test_sample_example_smoke(tmp_path):
    _load("sample").main(["--smoke", "--out", str(tmp_path / "s")])
    names = sorted(p.name for p in (tmp_path / "s").glob("*.png"))
    assert "grid.png" in names and len([n for n in names if n[0].isdigit()]) == 4


def test_examples_document_their_flags():
    for name in ("train_ffgan", "train_dfgan_variant", "sample"):
        module = _load(name)
        assert "--smoke" in module.__doc__ or "smoke" in module.parse_args.__code__.co_consts.__repr__()
        assert module.parse_args(["--smoke"]).smoke is True


@pytest.fixture
def run_script(restore_registries, monkeypatch, capsys):
    """Run an example as ``python examples/NAME.py ARGS`` does (``__main__``, its folder first on ``sys.path``,
    ``sys.argv``), in this process (no ~3 CPU-s torch import per script); what it registers is undone afterwards."""

    def run(name: str, *args: str) -> str:
        path = EXAMPLES / f"{name}.py"
        monkeypatch.setattr(sys, "argv", [str(path), *args])
        monkeypatch.syspath_prepend(str(EXAMPLES))
        capsys.readouterr()
        runpy.run_path(str(path), run_name="__main__")
        return capsys.readouterr().out

    return run


def test_custom_fusion_block_example_trains_a_plugin_variant(run_script):
    out = run_script("custom_fusion_block")
    assert "stage fusion: GatedWordFusion" in out
    losses = out.split("one training iteration:")[1].splitlines()[0]
    assert "'d0'" in losses and "'g'" in losses and "nan" not in losses.lower()


def test_build_variants_example_reports_the_official_parameter_counts(run_script):
    out = run_script("build_variants")
    assert "21,840,592" in out and "22,726,864" in out and "25,298,598" in out and "9,744,131" in out
    for preset in ("attngan", "dfgan_ffblock", "ffgan_clip", "tiny64"):
        assert preset in out
