"""kill -9 in the middle of real training runs: the run resumes and ends bit-identical to an uninterrupted one.

One kill is a separate ``python -m fusionblocks train`` process (the console entry point, killed while it prunes);
the other is a forked copy of this process killed right after an optimisation step (cheaper: nothing to import).
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from fusionblocks.cli import main
from fusionblocks.train.checkpoint import list_checkpoints, load_checkpoint

from ._helpers import KILLED, run_forked
from .conftest import TINY

ARGS = [*TINY, "--steps", "6", "--checkpoint-every", "2", "--keep", "1", "--sample-every", "0", "--log-every", "1"]
RESUME = ["--no-progress", "--device", "cpu"]


def _tensors(run) -> dict:
    return load_checkpoint(run).tensors


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[g][k], b[g][k]) for g in a for k in a[g])


def _steps(run) -> list[int]:
    import json

    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_kills_during_training_resume_bit_exact(tmp_path):
    reference = tmp_path / "reference"
    assert main(["train", *ARGS, "--out", str(reference)]) == 0

    # 1. a separate process, killed while pruning step 2 during the save of step 4
    pruned = tmp_path / "pruned"
    env = {**os.environ, "FUSIONBLOCKS_FAULT": "checkpoint.during_prune@1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fusionblocks", "train", *ARGS, "--out", str(pruned)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == -KILLED
    assert [p.name for p in list_checkpoints(pruned)] == ["step_00000004"]

    # 2. a forked copy, killed right after step 3 (its newest checkpoint is step 2)
    stepped = tmp_path / "stepped"
    assert run_forked(lambda: main(["train", *ARGS, "--out", str(stepped)]), "trainer.after_step@3") == KILLED
    assert load_checkpoint(stepped).step == 2

    for run in (pruned, stepped):
        assert main(["train", "--out", str(run), "--resume", "--keep", "1", *RESUME]) == 0
        assert load_checkpoint(run).step == 6
        assert _same(_tensors(reference), _tensors(run))
        assert _steps(run) == [1, 2, 3, 4, 5, 6]
        leftovers = [p.name for p in (run / "checkpoints").iterdir() if p.name not in ("latest.json", "step_00000006")]
        assert leftovers == []
