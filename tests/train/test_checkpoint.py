"""Checkpoint I/O: round trip (weights, Adam state, JSON state), atomic replacement, corrupt files named."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from fusionblocks.train.checkpoint import (
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)


def _model_and_opt():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(5, 4)).square().mean().backward()
        opt.step()
    return model, opt


def test_round_trip_restores_weights_and_optimizer_exactly(tmp_path):
    model, opt = _model_and_opt()
    path = save_checkpoint(
        tmp_path, 7, tensors={"model": model.state_dict()}, optimizers={"opt": opt.state_dict()},
        state={"rng": [1, 2, 3]}, config={"preset": "x", "nested": {"a": 1}},
    )
    assert path.name == "step_00000007"
    ck = load_checkpoint(tmp_path)
    assert ck.step == 7 and ck.config == {"preset": "x", "nested": {"a": 1}} and ck.state == {"rng": [1, 2, 3]}
    model2, opt2 = _model_and_opt()
    model2.load_state_dict(ck.tensors["model"])
    opt2.load_state_dict(ck.optimizers["opt"])
    for (k, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert torch.equal(a, b), k
    # one more identical step on both: the restored Adam moments must give the same update
    x = torch.randn(5, 4)
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        m(x).square().mean().backward()
        o.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)
    assert opt2.param_groups[0]["betas"][0] == 0.5


def test_keep_prunes_old_and_latest_points_to_newest(tmp_path):
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, tensors={"w": {"x": torch.full((2,), float(step))}}, keep=2)
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert names == ["step_00000002", "step_00000003"]
    assert json.loads((tmp_path / "checkpoints" / "latest.json").read_text())["step"] == 3
    assert load_checkpoint(tmp_path).tensors["w"]["x"].tolist() == [3.0, 3.0]
    assert resolve_checkpoint(tmp_path / "checkpoints" / "step_00000002").name == "step_00000002"


def test_truncated_weight_file_is_named_and_previous_checkpoint_survives(tmp_path):
    save_checkpoint(tmp_path, 1, tensors={"w": {"x": torch.ones(64)}})
    p2 = save_checkpoint(tmp_path, 2, tensors={"w": {"x": torch.zeros(64)}})
    target = p2 / "w.safetensors"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="w.safetensors"):
        load_checkpoint(tmp_path)
    # the older checkpoint is untouched and still loads
    assert load_checkpoint(tmp_path / "checkpoints" / "step_00000001").tensors["w"]["x"].sum() == 64


def test_corrupt_metadata_and_missing_paths_are_named(tmp_path):
    p = save_checkpoint(tmp_path, 1, tensors={"w": {"x": torch.ones(3)}})
    (p / "meta.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="meta.json"):
        load_checkpoint(p)
    with pytest.raises(CheckpointError, match="nowhere"):
        load_checkpoint(tmp_path / "nowhere")
    p2 = save_checkpoint(tmp_path / "b", 1, tensors={"w": {"x": torch.ones(3)}})
    (p2 / "state.json").unlink()
    with pytest.raises(CheckpointError, match="state.json"):
        load_checkpoint(p2)


def test_flipped_byte_with_same_size_is_caught_by_hash(tmp_path):
    p = save_checkpoint(tmp_path, 1, tensors={"w": {"x": torch.ones(16)}})
    data = bytearray((p / "w.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (p / "w.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(p)
    # without verification the (valid-format) file still loads, showing the check is what caught it
    assert load_checkpoint(p, verify=False).tensors["w"]["x"].shape == (16,)


def test_shared_tensors_and_resave_same_step(tmp_path):
    w = torch.randn(3, 3)
    save_checkpoint(tmp_path, 5, tensors={"m": {"a": w, "b": w, "c": w[1]}})
    save_checkpoint(tmp_path, 5, tensors={"m": {"a": w * 2, "b": w, "c": w[1]}})
    ck = load_checkpoint(tmp_path)
    assert torch.equal(ck.tensors["m"]["a"], w * 2) and torch.equal(ck.tensors["m"]["c"], w[1])
    assert len(list_checkpoints(tmp_path)) == 1
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")]


def test_half_written_folder_of_a_killed_save_is_ignored_then_removed(tmp_path):
    save_checkpoint(tmp_path, 1, tensors={"w": {"x": torch.ones(2)}})
    stale = tmp_path / "checkpoints" / ".step_00000002.tmp-99999"
    stale.mkdir()
    (stale / "w.safetensors").write_bytes(b"partial")
    assert load_checkpoint(tmp_path).step == 1  # never picked up
    save_checkpoint(tmp_path, 3, tensors={"w": {"x": torch.ones(2)}})
    assert not stale.exists()


def test_bad_arguments():
    with pytest.raises(ValueError, match="step"):
        save_checkpoint("/tmp/x", -1, tensors={})
    with pytest.raises(ValueError, match="tensors"):
        save_checkpoint("/tmp/x", 1, tensors={"meta": {}})
