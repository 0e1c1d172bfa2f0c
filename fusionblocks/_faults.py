"""Fault injection for reliability tests: kill the process or fail a write at a named point.

The library calls [`fault_point`][fusionblocks._faults.fault_point] at the moments where a crash matters (between
the files of a checkpoint, before ``latest.json`` moves, while pruning, ...). Normally that is one dictionary lookup
and nothing else. When the environment variable ``FUSIONBLOCKS_FAULT`` names the point, the fault happens there:

``FUSIONBLOCKS_FAULT="POINT[@N][:ACTION]"``
    ``POINT`` is a point name (``checkpoint.before_meta`` ...) and matches exactly; ``@N`` fires on the N-th time the
    point is reached in this process (default: the first); ``ACTION`` is ``kill`` (SIGKILL the process, the
    default) or ``enospc`` (raise ``OSError(ENOSPC)``, as a full disk would).

Points used by the library are listed in [`FAULT_POINTS`][fusionblocks._faults.FAULT_POINTS]; the reliability suite
drives every one of them.
"""

from __future__ import annotations

import errno
import os
import signal

__all__ = ["FAULT_POINTS", "FAULT_ENV", "fault_point"]

FAULT_ENV = "FUSIONBLOCKS_FAULT"

FAULT_POINTS: dict[str, str] = {
    "checkpoint.after_group": "after each tensor group's file is written into the temporary step folder",
    "checkpoint.before_meta": "every data file written, meta.json not yet",
    "checkpoint.before_rename": "the temporary step folder complete, not yet renamed into place",
    "checkpoint.before_latest": "the new step folder in place, latest.json still names the previous one",
    "checkpoint.before_prune": "latest.json names the new checkpoint, old ones not yet pruned",
    "checkpoint.during_prune": "one old checkpoint moved aside for deletion, not yet deleted",
    "atomic.before_replace": "a file's temporary copy written and synced, not yet renamed over the target",
    "trainer.after_step": "an optimisation step finished, before its logging, samples and checkpoint",
}

# (setting, point) -> times reached: counting restarts whenever FUSIONBLOCKS_FAULT changes
_hits: dict[tuple[str, str], int] = {}


def fault_point(name: str) -> None:
    """Inject the fault configured in ``FUSIONBLOCKS_FAULT`` if it names ``name``; otherwise do nothing.

    Args:
        name: One of [`FAULT_POINTS`][fusionblocks._faults.FAULT_POINTS].

    Raises:
        OSError: With ``errno.ENOSPC`` when the configured action is ``enospc``.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    point, _, action = spec.partition(":")
    point, _, nth = point.partition("@")
    if not nth.isdigit() and nth:
        raise ValueError(f"{FAULT_ENV}: expected POINT[@N][:ACTION], got {spec!r}")
    if point != name:
        return
    key = (spec, name)
    _hits[key] = _hits.get(key, 0) + 1
    if _hits[key] != (int(nth) if nth else 1):
        return
    if action in ("", "kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    else:
        raise ValueError(f"{FAULT_ENV}: unknown action {action!r} (expected 'kill' or 'enospc')")
