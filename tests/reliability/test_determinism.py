"""Fresh runs with the same --seed are bit-identical on the CPU: initial weights, data order, noise, metrics."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from fusionblocks.cli import main
from fusionblocks.train.checkpoint import load_checkpoint

from .conftest import TINY


def _train(out, seed: int, before: int) -> tuple[dict, list]:
    torch.manual_seed(before)  # a fresh process starts from an arbitrary global RNG state: it must not matter
    assert main(["train", *TINY, "--steps", "2", "--log-every", "1", "--sample-every", "0", "--seed", str(seed),
                 "--out", str(out)]) == 0
    ck = load_checkpoint(out)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("images_per_s", None)  # wall-clock throughput is the only thing allowed to differ
        record.pop("time", None)
    return ck.tensors, records


def _equal(a: dict, b: dict) -> list[str]:
    return [f"{g}/{k}" for g in a for k in a[g] if not torch.equal(a[g][k], b[g][k])]


def test_two_fresh_cli_runs_with_one_seed_are_bit_identical(tmp_path):
    first, first_log = _train(tmp_path / "a", seed=0, before=11)
    second, second_log = _train(tmp_path / "b", seed=0, before=12345)
    assert _equal(first, second) == []
    assert first_log == second_log and len(first_log) == 2
    other, _ = _train(tmp_path / "c", seed=1, before=11)
    assert len(_equal(first, other)) > len(first) // 2  # the seed matters: most tensors differ


def test_two_fresh_damsm_pretrainings_with_one_seed_are_bit_identical(tmp_path):
    outs = []
    for name in ("a", "b"):
        torch.manual_seed(len(name) * 99 + ord(name))
        assert main(["pretrain-damsm", *TINY, "--steps", "2", "--batch-size", "4", "--seed", "0",
                     "--out", str(tmp_path / name)]) == 0
        outs.append({f: load_file(str(tmp_path / name / f)) for f in ("text_encoder.safetensors",
                                                                       "image_encoder.safetensors")})
    for f, tensors in outs[0].items():
        assert all(torch.equal(v, outs[1][f][k]) for k, v in tensors.items()), f
