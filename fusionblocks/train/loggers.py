"""Where the trainer's records go: a small logger protocol, the JSONL log (always) and TensorBoard (opt-in).

The trainer calls ``log(step, values)`` every ``log_every`` steps (loss terms averaged over the window, images/s,
epoch) and ``close()`` at the end of ``fit``. Pass your own objects with these two methods as
``Trainer(..., loggers=[...])`` to send the same records elsewhere (Weights & Biases, a database, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

__all__ = ["TrainLogger", "TensorBoardLogger"]


@runtime_checkable
class TrainLogger(Protocol):
    """What the trainer needs from a logger."""

    def log(self, step: int, values: Mapping[str, Any]) -> None:
        """Record ``values`` (numbers or short strings) for ``step``."""

    def close(self) -> None:
        """Flush and release resources; called once at the end of ``fit``."""


class TensorBoardLogger:
    """Mirror the numeric records to TensorBoard event files (``RUN/tensorboard/``).

    Only used when asked for (``TrainerConfig(tensorboard=True)`` or ``fusionblocks train --tensorboard``); it
    needs the ``tensorboard`` package.

    Args:
        log_dir: Folder of the event files.

    Raises:
        ImportError: ``tensorboard`` is not installed (the message says how to install it).
    """

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "tensorboard: logging to TensorBoard needs the 'tensorboard' package (pip install tensorboard)"
            ) from exc
        self.log_dir = Path(log_dir)
        self._writer: Any = SummaryWriter(log_dir=str(self.log_dir))

    def log(self, step: int, values: Mapping[str, Any]) -> None:
        """Write every numeric value as a scalar at ``step`` (strings are skipped)."""
        if self._writer is None:
            raise RuntimeError("TensorBoardLogger: log() after close()")
        for key, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        """Close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
