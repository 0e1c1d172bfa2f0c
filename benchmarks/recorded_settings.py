"""Reading back the settings a finished experiment piece recorded, for resuming a run."""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Mapping

__all__ = ["with_field_defaults"]


def with_field_defaults(stored: Mapping[str, Any], cls: type) -> dict[str, Any]:
    """``stored`` (a record of a dataclass's fields) with every field it lacks set to the class's default.

    A piece written before a field was added to ``cls`` ran at that field's default, so it is filled in rather than
    counted as a mismatch. Keys that are not fields are kept as they are.

    Raises:
        TypeError: ``cls`` is not a dataclass.
    """
    if not is_dataclass(cls):
        raise TypeError(f"cls: expected a dataclass, got {cls!r}")
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    return {**defaults, **stored}
