"""`fusionblocks probe-text` on a tiny trained run: the report's table and JSON, and one-line errors."""

from __future__ import annotations

import json

import pytest

from fusionblocks.cli import main

TINY = [
    "--preset", "tiny64",
    "--set", "model.image_size=16", "--set", "model.ngf=4", "--set", "model.ndf=4",
    "--set", "model.z_dim=8", "--set", "model.cond_dim=8",
    "--set", "text.embedding_dim=8", "--set", "text.hidden_dim=16",
    "--set", "image.kwargs={image_size: 16, region_size: 4, channels: [8, 16]}",
    "--set", "data.kwargs.size=16", "--set", "data.kwargs.max_objects=1",
    "--batch-size", "4", "--precision", "fp32", "--device", "cpu", "--no-progress", "--threads", "1",
    "--allow-random-encoders",
]


def test_probe_text_reports_every_attribute(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "1", "--out", str(run), "--sample-every", "0"]) == 0
    capsys.readouterr()
    out = tmp_path / "probe" / "probe.json"
    assert main(["probe-text", "--checkpoint", str(run), "--fit-scenes", "60", "--eval-scenes", "12",
                 "--relation-scenes", "6", "--json", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    for attribute in ("color", "size", "shape", "position", "relation", "hard-neg"):
        assert attribute in printed
    report = json.loads(out.read_text())
    assert set(report["sentence"]) == {"color", "size", "shape", "position", "relation"}
    assert all(0.0 <= v <= 1.0 for v in report["sentence"].values())
    assert report["hard_negative_counts"]["color"] == 12 and report["settings"]["checkpoint"].startswith(str(run))


def test_probe_text_errors_are_one_line(tmp_path, capsys):
    assert main(["probe-text", "--checkpoint", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fusionblocks probe-text: error:") and "\n" not in err
    with pytest.raises(SystemExit) as exit_info:
        main(["probe-text", "--checkpoint", str(tmp_path), "--eval-scenes", "0"])
    assert exit_info.value.code == 2 and "--eval-scenes" in capsys.readouterr().err
