"""Two trainers on one run folder: the second exits 2 naming the first's PID; the folder stays consistent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

from fusionblocks.cli import main
from fusionblocks.train.checkpoint import load_checkpoint

RESUME = ["--no-progress", "--device", "cpu", "--sample-every", "0", "--log-every", "1"]


def _holder(run) -> int | None:
    try:
        return json.loads((run / ".lock").read_text() or "{}").get("pid")
    except (OSError, ValueError):
        return None


def test_a_second_trainer_is_refused_while_the_first_trains(trained_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / ".lock").unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the first trainer, killed below
        try:
            main(["train", "--out", str(run), "--resume", "--steps", "100000", "--checkpoint-every", "1", *RESUME])
        finally:
            os._exit(0)
    try:
        deadline = time.time() + 60
        while _holder(run) != pid and time.time() < deadline:
            time.sleep(0.02)
        assert _holder(run) == pid
        while load_checkpoint(run).step < 3 and time.time() < deadline:  # it is really training
            time.sleep(0.02)
        capsys.readouterr()
        code = main(["train", "--out", str(run), "--resume", "--steps", "100000", *RESUME])
        err = capsys.readouterr().err
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert code == 2 and f"in use by another fusionblocks process (PID {pid})" in err
    killed_at = load_checkpoint(run).step
    # the refused trainer wrote nothing: one writer's metrics, in order; the folder resumes normally
    assert main(["train", "--out", str(run), "--resume", "--steps", str(killed_at + 1), *RESUME]) == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, killed_at + 2))
