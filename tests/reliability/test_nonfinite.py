"""Non-finite numbers never reach a checkpoint.

The policy (docs/reliability.md): an optimiser update whose gradients hold NaN/Inf is *skipped* (weights and Adam
moments unchanged) with a warning and a ``skipped_steps`` counter; more than ``nonfinite_patience`` consecutive
such steps stop the run. A non-finite loss stops the run. Weights that overflow with finite gradients are refused at
the next checkpoint. Every stop names the last finite checkpoint, which stays the latest and is never pruned.
"""

from __future__ import annotations

import json

import pytest
import torch

from fusionblocks.cli import main
from fusionblocks.data import CaptionedShapes
from fusionblocks.train.checkpoint import list_checkpoints, load_checkpoint
from fusionblocks.train.trainer import NonFiniteGradientError, NonFiniteWeightsError, Trainer, TrainerConfig
from tests.train.toy_gan import build_toy

from .conftest import TINY


def _cfg(**kw) -> TrainerConfig:
    base = dict(batch_size=4, precision="fp32", sample_every=0, checkpoint_every=1, progress=False, num_samples=2,
                log_every=1, keep_checkpoints=1)
    return TrainerConfig(**{**base, **kw})


def _data():
    return CaptionedShapes(size=12, resolution=16, seed=0, max_objects=1)


def _inf_gradient_at(trainer: Trainer, steps: set[int]) -> None:
    """An Inf gradient through a hook on one generator weight, during the G step of the chosen steps."""
    weight = trainer.generator.fc.weight

    def hook(grad):
        return torch.full_like(grad, float("inf")) if trainer.step + 1 in steps else grad

    weight.register_hook(hook)


def _latest(run) -> int:
    return json.loads((run / "checkpoints" / "latest.json").read_text())["step"]


def _all_finite(run) -> bool:
    ck = load_checkpoint(run)
    return all(torch.isfinite(t).all() for sd in ck.tensors.values() for t in sd.values() if t.is_floating_point())


def test_one_inf_gradient_is_skipped_with_a_warning_and_counted(tmp_path):
    trainer = Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=4))
    _inf_gradient_at(trainer, {2})
    with pytest.warns(UserWarning, match=r"step 2: non-finite gradients for optimiser\(s\) g; their update was skipped"):
        result = trainer.fit()
    assert result.step == 4 and _latest(tmp_path) == 4 and _all_finite(tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped_steps"] for r in records] == [0, 1, 1, 1]
    assert load_checkpoint(tmp_path).state["skipped_steps"] == 1
    # the skipped update left the G weights and Adam moments exactly as the step before
    adam = trainer.optimizers["g"].state[trainer.generator.fc.weight]
    assert int(adam["step"]) == 3  # 4 steps, one update skipped


def test_persistent_inf_gradients_stop_naming_the_last_finite_checkpoint(tmp_path):
    trainer = Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=10, nonfinite_patience=2))
    _inf_gradient_at(trainer, set(range(3, 11)))
    with pytest.warns(UserWarning), pytest.raises(NonFiniteGradientError) as info:
        trainer.fit()
    err = info.value
    assert err.step == 5 and err.skipped == 3  # steps 3, 4 skipped with a warning; the third in a row stops
    assert err.checkpoint is not None and err.checkpoint.name == "step_00000004"
    assert "step_00000004, still the run's latest" in str(err)
    assert _latest(tmp_path) == 4 and _all_finite(tmp_path)
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])["error"] == str(err)


def test_patience_zero_stops_at_the_first_non_finite_gradient(tmp_path):
    trainer = Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=4, nonfinite_patience=0))
    _inf_gradient_at(trainer, {2})
    with pytest.raises(NonFiniteGradientError, match="step 2"):
        trainer.fit()
    assert _latest(tmp_path) == 1


def test_overflowing_weights_are_refused_and_good_checkpoints_kept(tmp_path):
    """Finite gradients, but an update so large the weights overflow: the checkpoint due is refused, and with
    keep=1 the last finite one is not pruned."""
    trainer = Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=4))
    trainer.fit()
    overflowing = Trainer(build_toy(0), _data(), tmp_path, _cfg(steps=6))
    iteration = overflowing.recipe.iteration

    def step_that_overflows(*args, **kwargs):  # what Adam does with lr=1e39: a finite gradient, an Inf weight
        losses = iteration(*args, **kwargs)
        with torch.no_grad():
            overflowing.generator.fc.weight[0, 0] = float("inf")
        return losses

    overflowing.recipe.iteration = step_that_overflows
    with pytest.raises(NonFiniteWeightsError) as info:
        overflowing.fit(resume=True)
    assert info.value.step == 5 and "generator" in str(info.value) and "step_00000004" in str(info.value)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000004"] and _all_finite(tmp_path)


def test_cli_lr_overflow_exits_3_and_the_run_still_samples(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "1", "--sample-every", "0", "--out", str(run)]) == 0
    code = main(["train", "--out", str(run), "--resume", "--steps", "3", "--checkpoint-every", "1",
                 "--set", "train.lr_g=1e39", "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 3, err
    line = [l for l in err.splitlines() if ": error: " in l]
    assert len(line) == 1 and "non-finite weights" in line[0] and "step_00000001, still the run's latest" in line[0]
    assert _latest(run) == 1 and _all_finite(run)
    assert main(["sample", "--checkpoint", str(run), "--caption", "a red circle", "--out", str(tmp_path / "s")]) == 0
    from PIL import Image

    pixels = torch.tensor(list(Image.open(tmp_path / "s" / "grid.png").convert("L").getdata()), dtype=torch.float)
    assert pixels.std() > 0  # not the all-black image of NaN weights
