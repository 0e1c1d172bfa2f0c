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
    "--allow-random-encoders",
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
    # the attribute judge's classifier is trained once and cached in the run folder, then reused
    judge = run / "shape_classifier.safetensors"
    assert not judge.exists()
    assert main(["eval", "--checkpoint", str(run), "--metrics", "attributes", "--num-samples", "4",
                 "--batch-size", "4", "--out", str(report)]) == 0
    assert judge.exists()
    cached = judge.stat().st_mtime_ns
    assert main(["eval", "--checkpoint", str(run), "--metrics", "attributes", "--num-samples", "4",
                 "--batch-size", "4", "--out", str(report)]) == 0
    assert judge.stat().st_mtime_ns == cached
    assert "color" in json.dumps(json.loads(report.read_text()))


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


def test_convert_official_generator_and_discriminators(tmp_path, capsys):
    import torch
    from ffgan.official_layout import discriminator_layout, generator_layout, random_state  # tests/ffgan helper
    from safetensors.torch import load_file

    from fusionblocks.ffgan import load_official
    from fusionblocks.text import DAMSMTextEncoder

    g_path = tmp_path / "netG_epoch_650.pth"
    torch.save(random_state(generator_layout(), seed=1), g_path)
    d_paths = []
    for i, size in enumerate((64, 128, 256)):
        d_paths.append(tmp_path / f"netD{i}.pth")
        torch.save(random_state(discriminator_layout(size), seed=2 + i), d_paths[-1])
    # generator only: our weights + the config, no sampleable checkpoint
    assert main(["convert", "--generator", str(g_path), "--out", str(tmp_path / "g_only")]) == 0
    converted = load_file(str(tmp_path / "g_only" / "generator.safetensors"))
    expected = load_official(g_path, "generator")
    assert converted.keys() == expected.keys() and all(torch.equal(converted[k], expected[k]) for k in expected)
    assert (tmp_path / "g_only" / "config.yaml").exists()
    # with a DAMSM text encoder (here in our own format): a full checkpoint folder
    text_path = tmp_path / "text_encoder.pth"
    torch.save(DAMSMTextEncoder(vocab_size=5450).state_dict(), text_path)
    out = tmp_path / "full"
    assert main(["convert", "--generator", str(g_path), *sum((["--discriminator", str(p)] for p in d_paths), []),
                 "--text-encoder", str(text_path), "--set", "image.encoder=null", "--out", str(out)]) == 0
    ck = load_checkpoint(out)
    assert ck.state["epoch"] == 650 and ck.config["name"] == "cub256"
    assert torch.equal(ck.tensors["generator_ema"]["ca.fc.weight"], expected["ca.fc.weight"])
    d0 = load_official(d_paths[0], "discriminator")
    assert all(torch.equal(ck.tensors["discriminators"][f"0.{k}"], v) for k, v in d0.items())
    capsys.readouterr()
    assert main(["convert", "--generator", str(tmp_path / "nope.pth"), "--out", str(out)]) == 2
    assert "nope.pth" in capsys.readouterr().err
