"""Append-only metrics log: one JSON object per line (``metrics.jsonl``), mirrored to TensorBoard when installed."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

__all__ = ["MetricsLogger", "read_metrics"]


class MetricsLogger:
    """Appends ``{"step": ..., **values}`` records to a JSONL file and, optionally, to TensorBoard.

    Each line is flushed and fsync'ed, so a killed run keeps every record written before it died. On resume, records
    with ``step`` greater than the resume step are dropped first (they belong to steps that will be redone).

    Args:
        path: The JSONL file (created with its folder).
        tensorboard: ``True`` to require TensorBoard, ``False`` to disable it, ``None`` to use it when importable.
        truncate_after_step: Drop existing records with ``step`` above this value (for resumed runs).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tensorboard: bool | None = None,
        truncate_after_step: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate_after_step is not None and self.path.exists():
            kept = [r for r in read_metrics(self.path) if int(r.get("step", 0)) <= truncate_after_step]
            from .atomic import atomic_write_bytes

            atomic_write_bytes(self.path, "".join(json.dumps(r) + "\n" for r in kept).encode("utf-8"))
        self._handle = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard is not False:
            try:
                from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

                self._tb = SummaryWriter(log_dir=str(self.path.parent / "tensorboard"))
            except Exception:
                if tensorboard:
                    raise

    def log(self, step: int, values: Mapping[str, Any]) -> None:
        """Append one record.

        Args:
            step: The training step.
            values: Numbers (floats/ints) or short strings.
        """
        record: dict[str, Any] = {"step": int(step)}
        for key, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = str(value)
            else:
                record[key] = value
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        """Close the file (and the TensorBoard writer)."""
        if not self._handle.closed:
            self._handle.close()
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def __enter__(self) -> "MetricsLogger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a metrics JSONL file, skipping a torn last line (from a killed process)."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
