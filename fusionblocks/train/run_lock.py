"""One writer per run folder: an exclusive, advisory ``flock`` on ``RUN/.lock``.

A training run holds the lock from before it reads its checkpoints until it has written its last one, so a second
``fusionblocks train --out RUN`` (or ``--resume``) exits at once, naming the process that holds the folder, instead
of the two runs deleting each other's files. The lock is released by the kernel when the holder exits, even after
``kill -9``, so a stale lock file never blocks a later run. Within one process the lock is re-entrant: the trainer
and [`save_checkpoint`][fusionblocks.train.checkpoint.save_checkpoint] can both take it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["RunFolderLock", "RunFolderBusyError", "LOCK_FILE"]

LOCK_FILE = ".lock"


class RunFolderBusyError(RuntimeError):
    """Another process holds the run folder's lock. The message names the folder and the holder's PID.

    Attributes:
        folder: The run folder.
        holder: What the holder wrote into the lock file (``pid``, ``host``, ``command``), possibly empty.
    """

    def __init__(self, folder: Path, holder: dict[str, object]) -> None:
        pid = holder.get("pid", "unknown")
        host = holder.get("host")
        where = f" on {host}" if host and host != socket.gethostname() else ""
        super().__init__(
            f"{folder}: run folder is in use by another fusionblocks process (PID {pid}{where}); wait for it to "
            f"finish or choose another --out (lock file {folder / LOCK_FILE})"
        )
        self.folder = folder
        self.holder = holder


# folder (resolved) -> [file descriptor, depth]: the locks this process holds
_held: dict[Path, list[int]] = {}
_held_guard = threading.Lock()


class RunFolderLock:
    """Context manager holding the exclusive lock of a run folder (creating the folder if needed).

    Args:
        folder: The run folder.

    Raises:
        RunFolderBusyError: Another process holds it (raised on entry, without waiting).

    Example:
        >>> with RunFolderLock("runs/tiny"):
        ...     trainer.fit(resume=True)
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def acquire(self) -> None:
        """Take the lock (re-entrant within this process)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        key = self.folder.resolve()
        with _held_guard:
            if key in _held:
                _held[key][1] += 1
                return
            path = key / LOCK_FILE
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise RunFolderBusyError(self.folder, holder) from None
            except BaseException:
                os.close(fd)
                raise
            info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)[:500]}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
            _held[key] = [fd, 1]

    def release(self) -> None:
        """Drop one level of the lock; the file lock goes when the outermost holder releases it."""
        key = self.folder.resolve()
        with _held_guard:
            entry = _held.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                os.close(entry[0])  # closing the descriptor releases the flock

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self.folder.resolve() in _held

    def __enter__(self) -> "RunFolderLock":
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
