"""Load a saved state dict into a module only when it fits, naming every key that does not.

``nn.Module.load_state_dict`` reports a changed model as a multi-line ``RuntimeError`` about tensor copies; a
resumed run or a sampled checkpoint whose config no longer builds the same model deserves one message that says
which group, which keys and which shapes differ.
"""

from __future__ import annotations

import os
from typing import Mapping

import torch
from torch import nn

from .checkpoint import CheckpointError

__all__ = ["ModelMismatchError", "state_dict_differences", "load_matching_state_dict"]


class ModelMismatchError(CheckpointError):
    """A checkpoint's tensors do not fit the model built from the current config. Names the differing keys.

    Attributes:
        group: The tensor group (``"generator"``, ``"discriminators"``, ...).
        differences: One line per differing key.
    """

    def __init__(self, message: str, group: str, differences: list[str]) -> None:
        super().__init__(message)
        self.group = group
        self.differences = differences


def state_dict_differences(expected: Mapping[str, torch.Tensor], saved: Mapping[str, object]) -> list[str]:
    """What keeps ``saved`` from loading into a module whose state dict is ``expected``.

    Returns:
        Sorted lines such as ``"fc.weight: shape (64, 8) in the checkpoint, (128, 8) in the model"``,
        ``"up.1.bias: missing from the checkpoint"`` and ``"extra.weight: not in the model"``.

    Shapes:
        Compares the shapes of the tensors in both mappings.
    """
    lines = []
    for key, tensor in expected.items():
        if key not in saved:
            lines.append(f"{key}: missing from the checkpoint")
            continue
        value = saved[key]
        if not isinstance(value, torch.Tensor):
            lines.append(f"{key}: the checkpoint holds a {type(value).__name__}, not a tensor")
        elif tuple(value.shape) != tuple(tensor.shape):
            lines.append(f"{key}: shape {tuple(value.shape)} in the checkpoint, {tuple(tensor.shape)} in the model")
    lines += [f"{key}: not in the model" for key in saved if key not in expected]
    return sorted(lines)


def load_matching_state_dict(
    module: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    group: str,
    source: str | os.PathLike[str],
    limit: int = 4,
) -> None:
    """``module.load_state_dict(state_dict)`` after checking that every key and shape matches.

    Args:
        module: The freshly built module.
        state_dict: The saved tensors.
        group: The group's name, for the message.
        source: The checkpoint folder or file, for the message.
        limit: How many differing keys the message lists (all are in ``error.differences``).

    Raises:
        ModelMismatchError: Keys are missing, unexpected or of another shape.

    Shapes:
        Every tensor of ``state_dict`` must have the shape of the module's tensor of the same name.
    """
    differences = state_dict_differences(module.state_dict(), state_dict)
    if differences:
        more = f"; +{len(differences) - limit} more" if len(differences) > limit else ""
        shown = "; ".join(differences[:limit]) + more
        raise ModelMismatchError(
            f"{source}: the saved {group} does not fit the model built from the current config "
            f"({len(differences)} differing key(s): {shown}); resume or load with the config it was trained with",
            group,
            differences,
        )
    module.load_state_dict(state_dict)
