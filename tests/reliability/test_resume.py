"""Resuming with changed settings: hyper-parameters are applied to the restored optimisers and recorded, settings
that cannot change mid-run are refused by name, a changed model is refused naming the differing keys, and a
non-finite checkpoint is never resumed from."""

from __future__ import annotations

import json
import shutil

from fusionblocks.cli import main
from fusionblocks.train.checkpoint import load_checkpoint, save_checkpoint

RESUME = ["--no-progress", "--device", "cpu", "--sample-every", "0"]


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_changed_learning_rates_are_applied_and_recorded(trained_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    saved = load_checkpoint(run)
    assert saved.optimizers["g"]["param_groups"][0]["lr"] != 1e-3
    assert main(["train", "--out", str(run), "--resume", "--steps", "2", "--set", "train.lr_g=1e-3",
                 "--set", "train.lr_d=5e-4", "--set", "train.betas=[0.0, 0.9]", *RESUME]) == 0
    err = capsys.readouterr().err
    assert "warning: resuming" in err and "train.lr_g: 0.0002 -> 0.001" in err
    ck = load_checkpoint(run)
    assert ck.step == 2
    assert {g["lr"] for g in ck.optimizers["g"]["param_groups"]} == {1e-3}  # what ran is what is restored next
    assert {g["lr"] for name, sd in ck.optimizers.items() if name != "g" for g in sd["param_groups"]} == {5e-4}
    assert ck.optimizers["g"]["param_groups"][0]["betas"] == [0.0, 0.9]
    assert ck.config["train"]["lr_g"] == 1e-3 and ck.config["train"]["betas"] == [0.0, 0.9]  # meta.json
    history = ck.state["resume_history"]
    assert len(history) == 1 and history[0]["step"] == 1
    assert history[0]["changed"]["train.lr_g"] == [2e-4, 1e-3]
    assert history[0]["changed"]["optimizer g group 0 lr"] == [2e-4, 1e-3]
    assert json.loads((run / "checkpoints" / ck.path.name / "meta.json").read_text())["config"]["train"]["lr_g"] == 1e-3


def test_changed_model_shape_is_refused_naming_keys(trained_run, capsys):
    code = main(["train", "--out", str(trained_run), "--resume", "--steps", "2", "--set", "model.ngf=8", *RESUME])
    assert code == 2
    line = _error_line(capsys.readouterr().err)
    assert "does not fit the model built from the current config" in line
    assert "shape (" in line and "in the checkpoint" in line and "in the model" in line
    assert load_checkpoint(trained_run).step == 1


def test_changed_seed_is_refused_naming_it(trained_run, capsys):
    code = main(["train", "--out", str(trained_run), "--resume", "--steps", "2", "--seed", "7", *RESUME])
    assert code == 2
    line = _error_line(capsys.readouterr().err)
    assert "cannot resume with changed train.seed: 0 -> 7" in line and "random streams" in line


def test_a_non_finite_checkpoint_is_not_resumed_from(trained_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    ck = load_checkpoint(run)
    next(t for t in ck.tensors["generator"].values() if t.is_floating_point()).fill_(float("nan"))
    save_checkpoint(run, 2, tensors=ck.tensors, optimizers=ck.optimizers, state={**ck.state, "step": 2},
                    config=ck.config, check_finite=False)  # what an older version could leave behind
    code = main(["train", "--out", str(run), "--resume", "--steps", "3", *RESUME])
    assert code == 2
    line = _error_line(capsys.readouterr().err)
    assert "step_00000002: the saved weights hold NaN/Inf" in line and "older checkpoint" in line
    assert "step_00000001" in line
