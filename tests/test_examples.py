"""Every example runs end to end with --smoke (a few CPU steps on CaptionedShapes), in-process."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fusionblocks.train.checkpoint import load_checkpoint

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["train_ffgan_cub", "train_ffgan_coco", "train_dfgan_variant"])
def test_train_examples_smoke(name, tmp_path):
    _load(name).main(["--smoke", "--steps", "2", "--out", str(tmp_path / "run")])
    ck = load_checkpoint(tmp_path / "run")
    assert ck.step == 2
    expected_stages = {"train_ffgan_cub": 3, "train_ffgan_coco": 3, "train_dfgan_variant": 1}[name]
    assert ck.config["model"]["num_stages"] == expected_stages
    assert ck.config["data"]["dataset"] == "captioned_shapes"
    recipe = "dfgan" if "dfgan" in name else "ffgan"
    assert ck.state["recipe"] == recipe


def test_sample_example_smoke(tmp_path):
    _load("sample").main(["--smoke", "--out", str(tmp_path / "s")])
    names = sorted(p.name for p in (tmp_path / "s").glob("*.png"))
    assert "grid.png" in names and len([n for n in names if n[0].isdigit()]) == 4


def test_examples_document_their_flags():
    for name in ("train_ffgan_cub", "train_ffgan_coco", "train_dfgan_variant", "sample"):
        module = _load(name)
        assert "--smoke" in module.__doc__ or "smoke" in module.parse_args.__code__.co_consts.__repr__()
        assert module.parse_args(["--smoke"]).smoke is True


def _run_script(name: str, *args: str) -> str:
    """Run an example as a user would (its own process, so its registrations stay there)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_custom_fusion_block_example_trains_a_plugin_variant():
    out = _run_script("custom_fusion_block")
    assert "stage fusion: GatedWordFusion" in out
    losses = out.split("one training iteration:")[1].splitlines()[0]
    assert "'d0'" in losses and "'g'" in losses and "nan" not in losses.lower()


@pytest.mark.slow
def test_build_variants_example_reports_the_official_parameter_counts():
    out = _run_script("build_variants")
    assert "21,840,592" in out and "22,726,864" in out and "25,298,598" in out and "9,744,131" in out
    for preset in ("attngan", "dfgan_ffblock", "ffgan_clip", "tiny64"):
        assert preset in out
