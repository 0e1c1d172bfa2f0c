"""The `fusionblocks` command: list/info, train → resume → sample → eval on a tiny model, errors, kill + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


from fusionblocks.cli import main
from fusionblocks.train.checkpoint import list_checkpoints, load_checkpoint

TINY = [
    "--preset", "tiny64",
    "--set", "model.image_size=16", "--set", "model.ngf=4", "--set", "model.ndf=4",
    "--set", "model.z_dim=8", "--set", "model.cond_dim=8",
    "--set", "text.embedding_dim=8", "--set", "text.hidden_dim=16",
    "--set", "image.kwargs={image_size: 16, region_size: 4, channels: [8, 16]}",
    "--set", "data.kwargs.size=16", "--set", "data.kwargs.max_objects=1",
    "--batch-size", "4", "--precision", "fp32", "--device", "cpu", "--no-progress", "--threads", "1",
]


def test_list_and_info(capsys):
    assert main(["list", "layer"]) == 0
    names = capsys.readouterr().out.split()
    assert "ffgan.ffblock" in names and "ffgan.gsr" in names
    assert main(["list", "model", "--pattern", "tiny*"]) == 0
    assert capsys.readouterr().out.split() == ["tiny64"]
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "components" in out and "device" in out
    assert main(["list", "bogus"]) == 2
    assert "KIND" in capsys.readouterr().err


def test_train_resume_sample_eval(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "2", "--out", str(run), "--sample-every", "0"]) == 0
    assert load_checkpoint(run).step == 2
    # resume without --preset: the config comes back from the checkpoint
    assert main(["train", "--out", str(run), "--resume", "--steps", "3", "--no-progress", "--precision", "fp32",
                 "--device", "cpu"]) == 0
    ck = load_checkpoint(run)
    assert ck.step == 3 and ck.config["model"]["ngf"] == 4
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 3 and sorted(set(steps)) == steps
    assert (run / "samples" / "step_00000003.png").exists()
    out = tmp_path / "samples"
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(run), "--caption", "a large red circle",
                 "--caption", "a small blue square", "--num", "2", "--out", str(out)]) == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "grid.png" in pngs and "attention.png" in pngs
    assert len([p for p in pngs if p[:3].isdigit()]) == 4
    from PIL import Image

    assert Image.open(out / "000_a_large_red_circle_0.png").size == (16, 16)
    report = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(run), "--metrics", "rprec", "--num-samples", "8",
                 "--batch-size", "4", "--out", str(report)]) == 0
    data = json.loads(report.read_text())
    assert "rprec" in json.dumps(data)


def test_errors_name_the_problem(tmp_path, capsys):
    assert main(["train", *TINY, "--steps", "1", "--out", str(tmp_path / "r"), "--set", "model.ngff=3"]) == 2
    assert "model.ngff" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(tmp_path / "missing"), "--caption", "x", "--out", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["train", *TINY, "--steps", "1", "--out", str(tmp_path / "r2"), "--sample-every", "0"]) == 0
    weights = list_checkpoints(tmp_path / "r2")[-1] / "generator_ema.safetensors"
    weights.write_bytes(weights.read_bytes()[:50])
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(tmp_path / "r2"), "--caption", "a red circle",
                 "--out", str(tmp_path / "s")]) == 2
    assert "generator_ema.safetensors" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "nothing"), "--resume"]) == 2


def test_killed_run_resumes_from_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "fusionblocks", "train", *TINY, "--steps", "500", "--checkpoint-every", "2",
           "--sample-every", "0", "--out", str(run)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (list_checkpoints(run) and load_checkpoint(run).step >= 4):
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = load_checkpoint(run).step
    assert 4 <= killed_at < 500
    assert main(["train", "--out", str(run), "--resume", "--steps", str(killed_at + 2), "--no-progress",
                 "--device", "cpu", "--precision", "fp32"]) == 0
    assert load_checkpoint(run).step == killed_at + 2
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == killed_at + 2
    # no half-written checkpoint folder of the killed process is left behind after the next save
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".step_")]


def test_pretrain_damsm_then_train_with_its_encoders(tmp_path, capsys):
    damsm = tmp_path / "damsm"
    assert main(["pretrain-damsm", *TINY, "--steps", "2", "--out", str(damsm)]) == 0
    assert {"text_encoder.safetensors", "image_encoder.safetensors", "vocabulary.json"} <= {
        p.name for p in damsm.iterdir()
    }
    run = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "1", "--sample-every", "0", "--out", str(run),
                 "--set", f"text.weights={damsm / 'text_encoder.safetensors'}",
                 "--set", f"image.weights={damsm / 'image_encoder.safetensors'}"]) == 0
    from safetensors.torch import load_file
    import torch

    ck = load_checkpoint(run)
    pretrained = load_file(str(damsm / "text_encoder.safetensors"))
    for key, value in pretrained.items():  # the frozen encoder in the GAN run is the pre-trained one
        assert torch.equal(ck.tensors["text_encoder"][key], value), key
    assert main(["pretrain-damsm", *TINY, "--out", str(damsm)]) == 2  # neither --steps nor --epochs
    assert "--steps" in capsys.readouterr().err
