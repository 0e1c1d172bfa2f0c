"""Housekeeping of a run's ``checkpoints`` folder: listing, cleaning up after crashes, pruning, free space.

Only complete step folders (holding ``meta.json``) count as checkpoints. Everything else a crash can leave behind is
removed by [`clean_checkpoint_folder`][fusionblocks.train.run_folder.clean_checkpoint_folder], which the next save
calls while it holds the run folder's lock: temporary step folders (``.step_*``), step folders a killed prune had
started to delete (no ``meta.json`` any more) and temporary files of interrupted atomic writes
(``.latest.json.*.tmp``). Pruning first renames a folder to a hidden name and then deletes it, so a kill during
pruning never leaves a half-deleted folder that looks like a checkpoint.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .._faults import fault_point

__all__ = ["STEP_DIR", "list_checkpoints", "clean_checkpoint_folder", "prune_checkpoints", "free_bytes"]

STEP_DIR = re.compile(r"^step_(\d{8,})$")


def _step_of(path: Path) -> int:
    match = STEP_DIR.match(path.name)
    assert match is not None
    return int(match.group(1))


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Step folders under ``run_dir/checkpoints`` (complete ones only), oldest first.
    """
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and STEP_DIR.match(p.name) and (p / "meta.json").is_file()]
    return sorted(found, key=_step_of)


def clean_checkpoint_folder(root: Path) -> list[Path]:
    """Remove what interrupted saves and prunes left in ``root`` (a ``checkpoints`` folder); returns what went.

    Call only while holding the run folder's lock: another writer's temporary files would look stale too.
    """
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        hidden_dir = entry.name.startswith(".step_") and entry.is_dir()
        orphan = STEP_DIR.match(entry.name) is not None and entry.is_dir() and not (entry / "meta.json").exists()
        if hidden_dir or orphan:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def prune_checkpoints(run_dir: str | os.PathLike[str], keep: int, *, protect: Path | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` complete checkpoints (never ``protect``); returns the deleted folders.

    Each folder is renamed to a hidden name before it is deleted.
    """
    found = list_checkpoints(run_dir)
    doomed = [p for p in found[: max(0, len(found) - keep)] if p != protect]
    for old in doomed:
        aside = old.with_name(f".{old.name}.prune-{os.getpid()}")
        os.replace(old, aside)
        fault_point("checkpoint.during_prune")
        shutil.rmtree(aside, ignore_errors=True)
    return doomed


def free_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes free for an unprivileged writer on the file system holding ``path``.
    """
    return shutil.disk_usage(path).free
