"""Cheap checks that weights, optimiser state and gradients hold only finite numbers.

One fused reduction per group of tensors (``torch._foreach_norm`` with the infinity norm: NaN and ±Inf propagate,
a large finite value never overflows), so checking a whole model before a checkpoint costs about one pass over its
memory and one device synchronisation. Only when a group fails are its tensors looked at one by one, to name them.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import torch

__all__ = ["all_finite", "nonfinite_keys", "nonfinite_groups", "describe_nonfinite"]


def _floating(tensors: Iterable[object]) -> list[torch.Tensor]:
    return [t.detach() for t in tensors if isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel()]


def all_finite(tensors: Iterable[object]) -> bool:
    """True when every floating-point tensor in ``tensors`` is free of NaN and Inf (non-tensors are skipped).

    One fused infinity-norm over all of them and one synchronisation.

    Shapes:
        Any shapes; empty and integer tensors are ignored.
    """
    floats = _floating(tensors)
    if not floats:
        return True
    norms = torch._foreach_norm(floats, float("inf"))
    return bool(torch.isfinite(torch.stack([n.float().to(norms[0].device) for n in norms])).all())


def nonfinite_keys(state_dict: Mapping[str, object]) -> list[str]:
    """Names of the floating-point tensors in ``state_dict`` that hold NaN or Inf (empty when all are finite).

    Shapes:
        Any shapes.
    """
    if all_finite(state_dict.values()):
        return []
    return [
        key
        for key, value in state_dict.items()
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]


def nonfinite_groups(groups: Mapping[str, Mapping[str, object]]) -> dict[str, list[str]]:
    """``{group: non-finite keys}`` for the groups of state dicts that are not all finite.

    Shapes:
        Any shapes.
    """
    bad = {group: nonfinite_keys(sd) for group, sd in groups.items()}
    return {group: keys for group, keys in bad.items() if keys}


def describe_nonfinite(bad: Mapping[str, list[str]], limit: int = 3) -> str:
    """``"generator (fc.weight, bn.bias, +2 more), optimizer g (...)"`` for error messages.
    """
    parts = []
    for group, keys in bad.items():
        shown = ", ".join(keys[:limit]) + (f", +{len(keys) - limit} more" if len(keys) > limit else "")
        parts.append(f"{group} ({shown})")
    return "; ".join(parts)
