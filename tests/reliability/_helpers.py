"""Shared helpers of the reliability suite: forked children with a fault injected, small checkpoint states."""

from __future__ import annotations

import os
import signal
from typing import Callable

import torch

from fusionblocks._faults import FAULT_ENV


def run_forked(work: Callable[[], object], fault: str | None = None) -> int:
    """Run ``work`` in a forked child with ``FUSIONBLOCKS_FAULT=fault``; return the signal that ended it, or 0.

    A child that returned normally exits 0 (so ``0`` means the fault never fired), one that raised exits 1.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            if fault:
                os.environ[FAULT_ENV] = fault
            work()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return os.WTERMSIG(status)
    return -os.WEXITSTATUS(status)  # 0 or -1


KILLED = signal.SIGKILL


def small_state(step: int) -> dict:
    """Tensors that differ per step (so a loaded checkpoint tells which step wrote it), with optimiser state."""
    model = torch.nn.Linear(8, 4)
    torch.nn.init.constant_(model.weight, float(step))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(2, 8)).sum().backward()
    opt.step()
    return {
        "tensors": {"generator": model.state_dict(), "discriminators": {"w": torch.full((3,), float(step))}},
        "optimizers": {"g": opt.state_dict()},
        "state": {"step": step},
        "config": {"name": "toy"},
    }
