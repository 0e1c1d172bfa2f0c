"""Checkpoints under crashes, full disks, poisoned weights, other writers and umasks.

Every kill is a real SIGKILL of a forked child at a named point of the save (``FUSIONBLOCKS_FAULT``); afterwards
the run folder must load, name a complete checkpoint, and take the next save without leftovers.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat

import pytest
import torch

import fusionblocks.train.checkpoint as checkpoint_module
from fusionblocks.train.checkpoint import (
    CheckpointSaveError,
    NonFiniteCheckpointError,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from fusionblocks.train.run_lock import RunFolderBusyError, RunFolderLock

from ._helpers import KILLED, run_forked, small_state

# (fault, keep): every point where a save can die; the @N suffix picks the N-th time the point is reached
KILL_POINTS = [
    ("checkpoint.after_group@1", 2),
    ("checkpoint.after_group@2", 2),
    ("checkpoint.before_meta", 2),
    ("checkpoint.before_rename", 2),
    ("checkpoint.before_latest", 2),
    ("checkpoint.before_prune", 2),
    ("checkpoint.during_prune@1", 1),
    ("checkpoint.during_prune@2", 1),
    ("atomic.before_replace@1", 2),  # the first tensor file
    ("atomic.before_replace@6", 2),  # meta.json (generator, discriminators, optimizers x2, state, meta)
    ("atomic.before_replace@7", 2),  # latest.json
]


def _save(run, step, keep=2):
    save_checkpoint(run, step, keep=keep, **small_state(step))


def _leftovers(run) -> list[str]:
    root = run / "checkpoints"
    complete = {p.name for p in list_checkpoints(run)}
    return sorted(p.name for p in root.iterdir() if p.name not in complete | {"latest.json"})


@pytest.mark.parametrize("fault, keep", KILL_POINTS, ids=[p for p, _ in KILL_POINTS])
def test_kill_during_save_leaves_a_loadable_run(tmp_path, fault, keep):
    run = tmp_path / "run"
    for step in (1, 2, 3):
        _save(run, step, keep=3)
    assert run_forked(lambda: _save(run, 4, keep=keep), fault) == KILLED  # the fault point was reached
    ck = load_checkpoint(run)  # latest.json names a complete, verified checkpoint
    assert ck.step in (3, 4)
    assert float(ck.tensors["discriminators"]["w"][0]) == ck.step
    for folder in list_checkpoints(run):
        load_checkpoint(folder)  # every folder that looks complete verifies
    # the next save cleans everything the killed one left (temporary folders, half-pruned folders, tmp files)
    _save(run, 5, keep=2)
    assert _leftovers(run) == []
    assert [p.name for p in list_checkpoints(run)][-1] == "step_00000005" and len(list_checkpoints(run)) == 2


def test_stray_orphans_and_tmp_files_are_cleaned_on_the_next_save(tmp_path):
    run = tmp_path / "run"
    _save(run, 1)
    root = run / "checkpoints"
    (root / "step_00000000").mkdir()  # what a kill in the middle of rmtree used to leave: no meta.json
    (root / "step_00000000" / "generator.safetensors").write_bytes(b"x")
    (root / ".latest.json.abc123.tmp").write_text("{")
    (root / ".step_00000002.tmp-999").mkdir()
    _save(run, 2)
    assert _leftovers(run) == []


def test_non_finite_state_is_never_saved_and_good_checkpoints_survive(tmp_path):
    run = tmp_path / "run"
    _save(run, 1, keep=1)
    for where in ("weights", "optimizer"):
        state = small_state(2)
        if where == "weights":
            state["tensors"]["generator"]["weight"][0, 0] = float("nan")
        else:
            next(iter(state["optimizers"]["g"]["state"].values()))["exp_avg_sq"][0] = float("inf")
        with pytest.raises(NonFiniteCheckpointError) as err:
            save_checkpoint(run, 2, keep=1, **state)
        text = str(err.value)
        assert "step_00000002" in text and ("generator (weight)" in text or "optimizers (g/" in text)
        assert [p.name for p in list_checkpoints(run)] == ["step_00000001"]  # keep=1 and yet not pruned
        assert json.loads((run / "checkpoints" / "latest.json").read_text())["step"] == 1
        assert not (run / "checkpoints" / "step_00000002").exists()


def test_full_disk_names_the_checkpoint_and_keeps_the_previous_one(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _save(run, 1)
    real_write = checkpoint_module.atomic_write_bytes
    calls = {"n": 0}

    def write_until_full(path, data):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, data)

    monkeypatch.setattr(checkpoint_module, "atomic_write_bytes", write_until_full)
    with pytest.raises(CheckpointSaveError) as err:
        _save(run, 2)
    text = str(err.value)
    assert "step_00000002" in text and "could not save" in text and "ENOSPC" in text and "MiB" in text
    assert "step_00000001" in text  # says which checkpoint is still the latest
    assert [p.name for p in list_checkpoints(run)] == ["step_00000001"] and _leftovers(run) == []
    assert load_checkpoint(run).step == 1


def test_full_disk_from_the_fault_hook_in_a_child(tmp_path):
    run = tmp_path / "run"
    _save(run, 1)

    def save_and_report():
        try:
            _save(run, 2)
        except CheckpointSaveError as exc:
            (tmp_path / "message").write_text(str(exc))

    assert run_forked(save_and_report, "atomic.before_replace@3:enospc") == 0
    assert "No space left on device" in (tmp_path / "message").read_text()
    assert load_checkpoint(run).step == 1 and _leftovers(run) == []


def test_short_of_space_prunes_before_writing_and_keeps_one(tmp_path, monkeypatch):
    run = tmp_path / "run"
    for step in (1, 2, 3):
        _save(run, step, keep=3)
    seen = []
    real_write = checkpoint_module.atomic_write_bytes

    def spy(path, data):
        seen.append([p.name for p in list_checkpoints(run)])
        real_write(path, data)

    monkeypatch.setattr(checkpoint_module, "free_bytes", lambda path: 0)
    monkeypatch.setattr(checkpoint_module, "atomic_write_bytes", spy)
    _save(run, 4, keep=2)
    assert seen[0] == ["step_00000003"]  # pruned before the first byte of step 4, the newest kept
    assert [p.name for p in list_checkpoints(run)] == ["step_00000003", "step_00000004"]
    seen.clear()
    _save(run, 5, keep=1)
    assert seen[0] == ["step_00000004"]  # keep=1: the newest old one stays until the new one is complete
    assert [p.name for p in list_checkpoints(run)] == ["step_00000005"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_respect_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        _save(tmp_path, 1)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "checkpoints").rglob("*") if p.is_file() and p.name != ".lock"]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {mode}


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    read_end, write_end = os.pipe()
    go_end, _ = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child holds the lock until killed
        try:
            RunFolderLock(run).acquire()
            os.write(write_end, b"x")
            os.read(go_end, 1)
        finally:
            os._exit(0)
    try:
        assert os.read(read_end, 1) == b"x"
        with pytest.raises(RunFolderBusyError, match=f"PID {pid}"):
            _save(run, 1)
        with pytest.raises(RunFolderBusyError, match="in use by another fusionblocks process"):
            RunFolderLock(run).acquire()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    _save(run, 1)  # the kernel dropped the dead holder's lock
    assert load_checkpoint(run).step == 1
    with RunFolderLock(run), RunFolderLock(run):  # re-entrant within one process
        _save(run, 2)


def test_failed_save_of_an_unwritable_folder_is_named(tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file_not_folder"
        target.write_text("x")  # a file where the run folder should be: fails even for root
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    with pytest.raises(CheckpointSaveError, match="could not save the checkpoint of step 1"):
        save_checkpoint(target / "run" if os.geteuid() else target, 1, tensors={"w": {"x": torch.ones(1)}})
