"""Append-only metrics log: one JSON object per line (``metrics.jsonl``), the trainer's always-on logger."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from .atomic import atomic_write_bytes
from .loggers import TensorBoardLogger

__all__ = ["MetricsLogger", "read_metrics"]


class MetricsLogger:
    """Appends ``{"step": ..., **values}`` records to a JSONL file (a
    [`TrainLogger`][fusionblocks.train.loggers.TrainLogger]).

    Each line is flushed and fsync'ed, so a killed run keeps every record written before it died. On resume, records
    with ``step`` greater than the resume step are dropped first (they belong to steps that will be redone).

    Args:
        path: The JSONL file (created with its folder).
        tensorboard: Also mirror the records to TensorBoard (``RUN/tensorboard/``; needs the ``tensorboard``
            package). Off unless asked for.
        truncate_after_step: Drop existing records with ``step`` above this value (for resumed runs).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tensorboard: bool = False,
        truncate_after_step: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate_after_step is not None and self.path.exists():
            kept = [r for r in read_metrics(self.path) if int(r.get("step", 0)) <= truncate_after_step]
            atomic_write_bytes(self.path, "".join(json.dumps(r) + "\n" for r in kept).encode("utf-8"))
        self._handle = open(self.path, "a", encoding="utf-8")
        self._tb = TensorBoardLogger(self.path.parent / "tensorboard") if tensorboard else None

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
            self._tb.log(step, values)

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
