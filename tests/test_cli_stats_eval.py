"""`fusionblocks stats` writes reference statistics with their protocol; `eval --images` scores a folder against it."""

from __future__ import annotations

import json

import pytest

from fusionblocks.cli import main
from fusionblocks.metrics import load_stats


@pytest.mark.slow
def test_stats_then_eval_a_folder_of_images(tmp_path, capsys):
    ref = tmp_path / "ref.npz"
    args = ["stats", "captioned_shapes", "--num", "6", "--image-size", "16", "--allow-random-weights",
            "--batch-size", "3", "--threads", "1", "--device", "cpu", "--out", str(ref)]
    assert main(args) == 0
    stats = load_stats(ref)
    meta = stats.meta
    assert meta["num_samples"] == 6 and meta["split"] == "test" and meta["image_size"] == [16, 16]
    assert meta["resize_filter"] == "bilinear" and meta["weights_fingerprint"] and meta["dataset"] == "captioned_shapes"
    assert stats.features is not None and stats.features.shape == (6, 2048)
    assert main(args) == 2 and "--force" in capsys.readouterr().err  # no silent overwrite

    # a folder of "generated" images: CaptionedShapes renders at 32 px, with their captions
    from fusionblocks.data import CaptionedShapes
    from fusionblocks.train.grids import to_pil

    images = tmp_path / "generated"
    images.mkdir()
    shapes = CaptionedShapes(size=4, resolution=32, split="val", captions_per_image=1)
    for i in range(4):
        to_pil(shapes.render(i)).save(images / f"{i:03d}.png")
        (images / f"{i:03d}.txt").write_text(shapes.captions(i)[0] + "\n")
    out = tmp_path / "eval.json"
    capsys.readouterr()
    assert main(["eval", "--images", str(images), "--reference", str(ref), "--metrics", "fid,kid,is",
                 "--allow-random-weights", "--batch-size", "2", "--threads", "1", "--device", "cpu",
                 "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    fid = report["metrics"]["fid"]
    assert fid["num_samples"] == 4 and fid["reference_samples"] == 6
    protocol = fid["protocol"]
    assert protocol["source"] == "images" and protocol["num_samples"] == 4
    assert protocol["reference"]["fingerprint"] and protocol["reference"]["split"] == "test"
    assert any("[16, 16]" in w and "[32, 32]" in w for w in report["warnings"])  # size mismatch is reported
    assert report["metrics"]["kid"]["num_subsets"] == 100
    assert main(["eval", "--images", str(images), "--metrics", "rprec", "--out", str(out)]) == 2
    assert "rprec" in capsys.readouterr().err
