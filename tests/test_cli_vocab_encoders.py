"""The command line on real-looking data: vocabularies from the dataset, `vocab build`, pre-trained encoder checks,
`info RUN`, unknown-word warnings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusionblocks.cli import main
from fusionblocks.text import Vocabulary
from fusionblocks.train.checkpoint import load_checkpoint

SMALL = [
    "--set", "model.image_size=16", "--set", "model.ngf=4", "--set", "model.ndf=4",
    "--set", "model.z_dim=8", "--set", "model.cond_dim=8",
    "--set", "text.embedding_dim=8", "--set", "text.hidden_dim=16",
    "--set", "image.kwargs={image_size: 16, region_size: 4, channels: [8, 16]}",
    "--batch-size", "4", "--precision", "fp32", "--device", "cpu", "--no-progress", "--threads", "1",
]
CAPTIONS = ["a photo of a {} cat", "a {} boat on a lake", "the {} cat sleeps in a boat"]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (40, 70, 230), "yellow": (240, 220, 40)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "my_data"
    root.mkdir()
    for i, (name, rgb) in enumerate([*COLOURS.items()] * 2):
        pixels = np.zeros((24, 24, 3), dtype=np.uint8)
        pixels[6:18, 6:18] = rgb
        Image.fromarray(pixels).save(root / f"{i:03d}.png")
        (root / f"{i:03d}.txt").write_text("\n".join(c.format(name) for c in CAPTIONS) + "\n")
    return root


def test_vocab_build_writes_the_datasets_vocabulary(folder, tmp_path, capsys):
    out = tmp_path / "vocab.json"
    assert main(["vocab", "build", str(folder), "--out", str(out)]) == 0
    vocab = Vocabulary.load(out)
    assert {"photo", "cat", "boat", "red", "yellow", "sleeps"} <= set(vocab.itos)
    assert "folder layout" in capsys.readouterr().out
    assert main(["vocab", "build", str(folder), "--out", str(out)]) == 2  # no silent overwrite
    assert "--force" in capsys.readouterr().err
    assert main(["vocab", "build", str(tmp_path / "nowhere"), "--out", str(tmp_path / "v2.json")]) == 2


def test_train_on_a_folder_uses_its_vocabulary_and_sample_reuses_it(folder, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny64", *SMALL, "--set", "data.dataset=folder", "--data", str(folder),
            "--steps", "1", "--sample-every", "0", "--out", str(run)]
    # random frozen encoders are refused unless asked for
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "text.weights, image.weights" in err and "--allow-random-encoders" in err and "pretrain-damsm" in err
    assert main([*args, "--allow-random-encoders"]) == 0
    ck = load_checkpoint(run, groups=[])
    words = ck.state["vocabulary"]
    assert {"photo", "cat", "boat", "sleeps"} <= set(words)
    assert ck.state["provenance"]["vocabulary"]["size"] == len(words)
    assert ck.state["provenance"]["text_encoder"]["pretrained"] is False
    # `sample` uses the stored vocabulary: the data folder is not needed any more
    (folder / "000.txt").unlink()
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(run), "--caption", "a red cat in a boat", "--out",
                 str(tmp_path / "s")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(run), "--caption", "a red zebra on a skateboard", "--out",
                 str(tmp_path / "s2")]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "'zebra'" in err and "'skateboard'" in err
    # `info RUN` shows the vocabulary and the encoders
    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"{len(words)} words" in out and "folder" in out
    assert "text.damsm_bilstm: RANDOM" in out and "image.small_cnn: RANDOM" in out
    assert "text_encoder.safetensors (sha256 " in out


def test_a_vocabulary_that_does_not_fit_the_data_is_an_error(folder, tmp_path, capsys):
    assert main(["train", "--preset", "tiny64", *SMALL, "--set", "data.dataset=folder", "--data", str(folder),
                 "--set", "text.vocabulary=captioned_shapes", "--allow-random-encoders", "--steps", "1",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "not in the text encoder's vocabulary" in err and "'cat'" in err and "vocab build" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_pretrained_encoders_are_recorded_with_their_hashes(folder, tmp_path, capsys):
    damsm = tmp_path / "damsm"
    common = ["--preset", "tiny64", *SMALL, "--set", "data.dataset=folder", "--data", str(folder)]
    assert main(["pretrain-damsm", *common, "--steps", "2", "--out", str(damsm)]) == 0
    saved = Vocabulary.load(damsm / "vocabulary.json")
    assert {"photo", "cat", "boat"} <= set(saved.itos)  # DAMSM saw the folder's words, not <unk>-collapsed ones
    run = tmp_path / "run"
    text_w, image_w = damsm / "text_encoder.safetensors", damsm / "image_encoder.safetensors"
    assert main(["train", *common, "--steps", "1", "--sample-every", "0", "--out", str(run),
                 "--set", f"text.weights={text_w}", "--set", f"image.weights={image_w}"]) == 0
    from fusionblocks.ffgan.provenance import file_sha256

    provenance = load_checkpoint(run, groups=[]).state["provenance"]
    assert provenance["text_encoder"]["weights_sha256"] == file_sha256(text_w)
    assert provenance["image_encoder"]["weights_sha256"] == file_sha256(image_w)
    assert provenance["vocabulary"]["source"].endswith("vocabulary.json")
    capsys.readouterr()
    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"pre-trained from {text_w} (sha256 {file_sha256(text_w)[:16]})" in out


def test_damsm_pretraining_with_a_batch_larger_than_the_data_is_a_one_line_error(folder, tmp_path, capsys):
    args = ["pretrain-damsm", "--preset", "tiny64", *SMALL, "--set", "data.dataset=folder", "--data", str(folder),
            "--steps", "1", "--out", str(tmp_path / "d")]
    args[args.index("--batch-size") + 1] = "9"  # the folder has 8 images
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--batch-size: 9 is more than the 8 items" in err, err
    assert not (tmp_path / "d").exists()


def test_damsm_pretraining_refuses_a_random_inception_backbone(tmp_path, capsys):
    args = ["pretrain-damsm", "--preset", "cub256", "--set", "data.dataset=captioned_shapes", "--steps", "1",
            "--out", str(tmp_path / "d"), "--device", "cpu", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "image.backbone_weights" in err and "inception_v3" in err and "--allow-random-encoders" in err


def test_resume_does_not_ask_for_the_flag_again(folder, tmp_path):
    run = tmp_path / "run"
    base = ["train", "--preset", "tiny64", *SMALL, "--set", "data.dataset=folder", "--data", str(folder),
            "--sample-every", "0", "--out", str(run)]
    assert main([*base, "--steps", "1", "--allow-random-encoders"]) == 0
    assert main(["train", "--out", str(run), "--resume", "--steps", "2", "--no-progress", "--device", "cpu"]) == 0
    assert json.loads((run / "checkpoints" / "latest.json").read_text())
    assert load_checkpoint(run, groups=[]).step == 2


def test_convert_the_released_damsm_encoders_for_training(tmp_path, capsys):
    import pickle

    import torch
    from safetensors.torch import load_file

    words = ["<end>", "a", "small", "red", "bird"]
    pickle_path = tmp_path / "captions.pickle"
    ixtoword = dict(enumerate(words))
    with open(pickle_path, "wb") as f:
        pickle.dump([[[1, 2, 3, 4]], [[1, 4]], ixtoword, {w: i for i, w in ixtoword.items()}], f, protocol=2)
    hidden, emb = 8, 6
    text = {"encoder.weight": torch.randn(len(words), emb)}
    for suffix in ("", "_reverse"):
        text[f"rnn.weight_ih_l0{suffix}"] = torch.randn(4 * hidden, emb)
        text[f"rnn.weight_hh_l0{suffix}"] = torch.randn(4 * hidden, hidden)
        text[f"rnn.bias_ih_l0{suffix}"] = torch.randn(4 * hidden)
        text[f"rnn.bias_hh_l0{suffix}"] = torch.randn(4 * hidden)
    image = {"emb_features.weight": torch.randn(16, 768, 1, 1), "emb_cnn_code.weight": torch.randn(16, 2048),
             "emb_cnn_code.bias": torch.randn(16)}
    torch.save(text, tmp_path / "text_encoder200.pth")
    torch.save(image, tmp_path / "image_encoder200.pth")
    out = tmp_path / "encoders"
    assert main(["convert", "--text-encoder", str(tmp_path / "text_encoder200.pth"), "--image-encoder",
                 str(tmp_path / "image_encoder200.pth"), "--captions-pickle", str(pickle_path),
                 "--out", str(out)]) == 0
    assert "image.backbone_weights" in capsys.readouterr().out  # projections only: the backbone is still needed
    converted = load_file(str(out / "text_encoder.safetensors"))
    assert torch.equal(converted["embedding.weight"], text["encoder.weight"])
    assert torch.equal(converted["lstm.weight_hh_l0_reverse"], text["rnn.weight_hh_l0_reverse"])
    assert torch.equal(load_file(str(out / "image_encoder.safetensors"))["code_proj.bias"], image["emb_cnn_code.bias"])
    assert Vocabulary.load(out / "vocabulary.json").itos == words
    assert main(["convert", "--out", str(out)]) == 2
    assert "--text-encoder" in capsys.readouterr().err


def test_converting_an_official_run_without_its_image_encoder_leaves_none_rather_than_a_random_one(tmp_path, capsys):
    """A converted run gets no image encoder unless one is given: a random Inception would score `eval`'s DAMSM
    R-precision without a word; now rprec asks for the encoder instead."""
    import pickle

    import torch
    from ffgan.official_layout import generator_layout, random_state  # tests/ffgan helper

    words = ["<end>", "a", "small", "red", "bird"]
    pickle_path = tmp_path / "captions.pickle"
    with open(pickle_path, "wb") as f:
        pickle.dump([[[1, 2, 3, 4]], [[1, 4]], dict(enumerate(words)), {w: i for i, w in enumerate(words)}], f,
                    protocol=2)
    text = {"encoder.weight": torch.randn(len(words), 300)}
    for suffix in ("", "_reverse"):
        text[f"rnn.weight_ih_l0{suffix}"] = torch.randn(512, 300) * 0.05
        text[f"rnn.weight_hh_l0{suffix}"] = torch.randn(512, 128) * 0.05
        text[f"rnn.bias_ih_l0{suffix}"] = torch.zeros(512)
        text[f"rnn.bias_hh_l0{suffix}"] = torch.zeros(512)
    torch.save(text, tmp_path / "text_encoder200.pth")
    torch.save(random_state(generator_layout(ngf=4, acm_hidden=8), seed=1), tmp_path / "netG_epoch_650.pth")
    run = tmp_path / "official"
    assert main(["convert", "--preset", "cub256", "--set", "model.ngf=4", "--set", "model.ndf=4", "--generator",
                 str(tmp_path / "netG_epoch_650.pth"), "--text-encoder", str(tmp_path / "text_encoder200.pth"),
                 "--captions-pickle", str(pickle_path), "--out", str(run)]) == 0
    assert "no DAMSM image encoder" in capsys.readouterr().out
    ck = load_checkpoint(run)
    assert "image_encoder" not in ck.tensors and ck.config["image"]["encoder"] is None
    (tmp_path / "captions.txt").write_text("a small red bird\n")
    assert main(["eval", "--checkpoint", str(run), "--metrics", "rprec", "--captions", str(tmp_path / "captions.txt"),
                 "--num-samples", "2", "--batch-size", "2", "--device", "cpu", "--out",
                 str(tmp_path / "eval.json")]) == 2
    assert "image_encoder" in capsys.readouterr().err
