"""`python -m fusionblocks.demo` (what `make demo` runs) writes every promised file; here with a few steps."""

from __future__ import annotations

import json

from fusionblocks.demo import main
from fusionblocks.train.checkpoint import load_checkpoint


def test_demo_writes_all_outputs(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["--out", str(out), "--steps", "3", "--damsm-steps", "2", "--damsm-batch-size", "8",
                 "--heldout", "4", "--sample-every", "2", "--no-judge", "--no-progress", "--threads", "1",
                 "--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "train.batch_size=4",
                 "--set", "data.kwargs={size: 64, max_objects: 1, hard_negatives: 1}"]) == 0
    printed = capsys.readouterr().out
    ck = load_checkpoint(out)
    assert ck.step == 3 and ck.config["model"]["image_size"] == 32
    assert (out / "metrics.jsonl").read_text().count("\n") == 1  # log_every 10 -> only the final step
    assert sorted(p.name for p in (out / "samples").glob("step_*.png")) == [
        "step_00000002.png", "step_00000002_attention.png", "step_00000003.png", "step_00000003_attention.png"]
    assert len(list((out / "heldout").glob("0*.png"))) == 4 and (out / "heldout" / "grid.png").exists()
    assert (out / "final_grid.png").exists()
    assert (out / "damsm" / "text_encoder.safetensors").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["wall_seconds"] > 0
    probe = summary["text_probe"]  # the text-feature probe of the pre-trained encoders, with counts and chance
    assert set(probe["sentence"]) >= {"color", "size", "shape", "position"} and probe["chance"]["shape"] == 1 / 3
    assert probe["hard_negative_counts"]["color"] > 0 and "text features" in printed
    for name in ("checkpoint", "metrics", "final grid", "held-out"):
        assert name in printed
    # a second run replaces the first one's outputs (instead of refusing to start)
    (out / "samples" / "step_00000002.png").unlink()
    assert main(["--out", str(out), "--steps", "1", "--damsm-steps", "1", "--damsm-batch-size", "8",
                 "--heldout", "2", "--no-judge", "--no-probe", "--no-progress", "--threads", "1",
                 "--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "train.batch_size=4",
                 "--set", "data.kwargs={size: 64, max_objects: 1, hard_negatives: 1}"]) == 0
    assert load_checkpoint(out).step == 1 and "replacing" in capsys.readouterr().out
    assert "text_probe" not in json.loads((out / "summary.json").read_text())


def test_demo_pretrains_damsm_on_two_object_scenes_with_mirrored_negatives():
    from fusionblocks.data import CaptionedShapes
    from fusionblocks.data.shapes import mirrored_caption
    from fusionblocks.demo import _parse, damsm_dataset

    train_set = CaptionedShapes(size=40, resolution=8, split="train", seed=3, max_objects=1, captions_per_image=5)
    data = damsm_dataset(train_set, _parse([]))
    assert (len(data), data.split, data.seed, data.max_objects) == (40, "train", 3, 2)
    assert data.hard_negatives == 4 and data.mirror_negatives
    items = [data[i] for i in range(len(data))]
    two = [item for item in items if mirrored_caption(item["caption"]) is not None]
    assert two and all(item["negative_captions"][0] == mirrored_caption(item["caption"]) for item in two)
    single = damsm_dataset(train_set, _parse(["--damsm-max-objects", "1"]))
    assert single.max_objects == 1 and not single.mirror_negatives
    assert not damsm_dataset(train_set, _parse(["--damsm-negatives", "0"])).mirror_negatives
