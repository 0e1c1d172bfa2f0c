"""The trainer on a toy GAN (contract-conforming): exact resume, NaN stop, outputs, corrupt checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from fusionblocks.data import CaptionedShapes
from fusionblocks.train.checkpoint import CheckpointError, list_checkpoints, load_checkpoint
from fusionblocks.train.trainer import NonFiniteLossError, Trainer, TrainerConfig

from toy_gan import build_toy


def _cfg(**kw) -> TrainerConfig:
    base = dict(batch_size=4, precision="fp32", sample_every=0, checkpoint_every=0, progress=False,
                tensorboard=False, num_samples=2, log_every=1)
    base.update(kw)
    return TrainerConfig(**base)


def _data():
    # 12 items, batch 4: 3 batches per epoch, so 5 steps cross an epoch boundary
    return CaptionedShapes(size=12, resolution=16, seed=0, max_objects=1)


def _assert_same_state(a: Trainer, b: Trainer) -> None:
    for group, sd in a.state_tensors().items():
        other = b.state_tensors()[group]
        for k, v in sd.items():
            assert torch.equal(v, other[k]), f"{group}.{k} differs"
    for name, opt in a.optimizers.items():
        sa, sb = opt.state_dict()["state"], b.optimizers[name].state_dict()["state"]
        for pid in sa:
            for k in sa[pid]:
                assert torch.equal(torch.as_tensor(sa[pid][k]), torch.as_tensor(sb[pid][k])), (name, pid, k)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_resumed_run_equals_uninterrupted_run(tmp_path, precision):
    full = Trainer(build_toy(0), _data(), tmp_path / "full", _cfg(steps=5, precision=precision))
    full.fit()
    first = Trainer(build_toy(0), _data(), tmp_path / "split", _cfg(steps=2, precision=precision))
    first.fit()
    # a fresh process would rebuild the model from scratch (other random init): resume must overwrite it all
    resumed = Trainer(build_toy(123), _data(), tmp_path / "split", _cfg(steps=5, precision=precision))
    result = resumed.fit(resume=True)
    assert result.step == 5 and resumed.epoch == 1
    _assert_same_state(full, resumed)
    steps = [r["step"] for r in map(json.loads, (tmp_path / "split" / "metrics.jsonl").read_text().splitlines())]
    assert steps == [1, 2, 3, 4, 5]
    # and a run that differs (another seed) does not match: the comparison can fail
    other = Trainer(build_toy(0), _data(), tmp_path / "other", _cfg(steps=5, seed=1, precision=precision))
    other.fit()
    g_full, g_other = full.state_tensors()["generator"], other.state_tensors()["generator"]
    assert any(not torch.equal(g_full[k], g_other[k]) for k in g_full)


def test_outputs_written(tmp_path):
    tr = Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=3, sample_every=2, checkpoint_every=2, log_every=2))
    res = tr.fit()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000002", "step_00000003"]
    names = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert names == ["step_00000002.png", "step_00000002_attention.png", "step_00000003.png",
                     "step_00000003_attention.png"]
    recs = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [2, 3] and {"d0", "d1", "g_adv", "images_per_s"} <= set(recs[0])
    ck = load_checkpoint(tmp_path)
    assert ck.step == 3 and ck.config == {"model": "toy", "seed": 0}
    assert set(ck.tensors) == {"generator", "generator_ema", "discriminators", "text_encoder"}
    assert ck.state["epoch"] == 0 and ck.state["batch_in_epoch"] == 3 and len(ck.state["rng"]) == 1
    # EMA differs from the live generator after training (decay 0.9) but its BN buffers are the live ones
    g, e = ck.tensors["generator"], ck.tensors["generator_ema"]
    assert not torch.equal(g["fc.weight"], e["fc.weight"])
    assert torch.equal(g["bn.running_mean"], e["bn.running_mean"])
    assert res.checkpoint == ck.path


def test_nan_loss_stops_naming_step_and_term_and_keeps_last_checkpoint(tmp_path):
    tr = Trainer(build_toy(0, fail_at_step=3), _data(), tmp_path, _cfg(steps=6, checkpoint_every=2))
    with pytest.raises(NonFiniteLossError, match=r"step 3.*'g_adv'") as info:
        tr.fit()
    assert info.value.step == 3 and info.value.term == "g_adv"
    assert info.value.checkpoint is not None and info.value.checkpoint.name == "step_00000002"
    ck = load_checkpoint(tmp_path)
    assert ck.step == 2 and all(torch.isfinite(v).all() for v in ck.tensors["generator"].values())
    last = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 3 and "g_adv" in last["error"]


def test_resume_from_corrupt_checkpoint_names_the_file(tmp_path):
    Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=2, checkpoint_every=1)).fit()
    older, latest = list_checkpoints(tmp_path)
    target = latest / "generator.safetensors"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"generator.safetensors.*older checkpoint.*step_00000001"):
        Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=4)).fit(resume=True)
    # the last good checkpoint is intact and an explicit resume from it continues the run
    trainer = Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=3))
    assert trainer.fit(resume=older).step == 3


def test_fit_again_with_more_steps_trains_on_like_one_run(tmp_path):
    full = Trainer(build_toy(0), _data(), tmp_path / "full", _cfg(steps=5))
    full.fit()
    trainer = Trainer(build_toy(0), _data(), tmp_path / "twice", _cfg(steps=2, checkpoint_every=1))
    trainer.fit()
    trainer.cfg.steps = 5
    assert trainer.fit().step == 5
    _assert_same_state(full, trainer)
    steps = [r["step"] for r in map(json.loads, (tmp_path / "twice" / "metrics.jsonl").read_text().splitlines())]
    assert steps == [1, 2, 3, 4, 5]


def test_fresh_start_never_overwrites_an_existing_run(tmp_path):
    Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=1)).fit()
    with pytest.raises(FileExistsError, match="already holds checkpoints"):
        Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=2)).fit()
    assert load_checkpoint(tmp_path).step == 1


def test_bad_config_and_dataset():
    with pytest.raises(ValueError, match="steps"):
        TrainerConfig(steps=0)
    with pytest.raises(ValueError, match="batch_size"):
        TrainerConfig(batch_size=-1)
    with pytest.raises(ValueError, match="dataset"):
        Trainer(build_toy(0), CaptionedShapes(size=3, resolution=16), "/tmp/unused", _cfg(steps=1))
