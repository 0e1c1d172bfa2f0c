"""Two gloo processes on CPU: DDP keeps the replicas identical; data is sharded; only rank 0 writes."""

from __future__ import annotations

import json
import socket

import torch
import torch.multiprocessing as mp

from fusionblocks.train.checkpoint import list_checkpoints, load_checkpoint

import toy_gan as toy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_keep_replicas_identical(tmp_path):
    mp.spawn(toy.ddp_worker, args=(2, _free_port(), str(tmp_path), 3), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2))
    assert r0["world"] == r1["world"] == 2
    for key in ("generator", "discriminators", "ema", "ffgan_generator", "ffgan_discriminators",
                "ffgan_text_encoder"):
        assert r0[key] == r1[key], f"{key} replicas diverged"
    assert not set(r0["shard"]) & set(r1["shard"]) and len(r0["shard"]) == len(r1["shard"]) == 8
    # world size is accounted for once: two epochs of a 2-way shard at batch 2 are 2 x 4 steps (not 2 x 8)
    assert r0["epoch_steps"] == r1["epoch_steps"] == 8
    assert r0["ffgan_batch_size"] == 4  # from the model config (smoke_overrides), not a hand translation
    # rank 0 alone wrote one checkpoint, holding both ranks' RNG states, and the metrics log
    assert load_checkpoint(tmp_path / "ffgan").step == 3
    (ck_dir,) = list_checkpoints(tmp_path)
    ck = load_checkpoint(ck_dir)
    assert ck.step == 3 and ck.state["world_size"] == 2 and len(ck.state["rng"]) == 2
    assert ck.state["rng"][0]["torch"] != ck.state["rng"][1]["torch"]  # ranks draw different noise
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3]
    # the weights in the checkpoint are the (identical) replicas' weights, not rank 1's initial ones
    torch.manual_seed(1)
    rank1_init = toy.build_toy(seed=1).generator.state_dict()
    assert not torch.equal(ck.tensors["generator"]["fc.weight"], rank1_init["fc.weight"])
