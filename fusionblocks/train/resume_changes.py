"""What a resumed run changed against its checkpoint: applied and recorded, or refused.

A resumed run rebuilds the model, the recipe and the loop from the *current* config, then loads the checkpoint. Most
settings therefore simply take effect (loss weights, the schedule, logging cadence, precision). Three kinds need
care, and get it here:

* optimiser hyper-parameters (learning rates, betas, ...): the restored optimiser state carries the old values, so
  the current ones are set on the restored optimisers
  ([`apply_optimizer_settings`][fusionblocks.train.resume_changes.apply_optimizer_settings]);
* settings whose effect lives in the checkpoint and cannot change mid-run (the seed, whose random streams are
  restored; the encoder weight files, whose tensors come from the checkpoint; the recipe, whose optimisers are
  restored): refused with a [`ResumeConfigError`][fusionblocks.train.resume_changes.ResumeConfigError] naming them;
* the model's shape: refused by [`load_matching_state_dict`][fusionblocks.train.state_match.load_matching_state_dict],
  naming the differing keys.

The checkpoint's ``meta.json`` then records the config that ran, and ``state.json`` keeps every applied change
under ``resume_history``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch

from .checkpoint import CheckpointError

__all__ = ["ResumeConfigError", "REFUSED_ON_RESUME", "config_changes", "refuse_changes", "apply_optimizer_settings"]

#: Dotted config keys a resumed run may not change, and why.
REFUSED_ON_RESUME: dict[str, str] = {
    "train.seed": "the run's random streams continue from the checkpoint",
    "train.recipe": "the optimisers and loss terms are restored from the checkpoint",
    "model.arch": "the networks are restored from the checkpoint",
    "text.encoder": "the text encoder is restored from the checkpoint",
    "text.weights": "the text encoder's weights are restored from the checkpoint",
    "image.encoder": "the image encoder is restored from the checkpoint",
    "image.weights": "the image encoder's weights are restored from the checkpoint",
    "image.backbone_weights": "the image encoder's weights are restored from the checkpoint",
}

# optimiser param-group entries that are hyper-parameters (the rest are implementation switches)
_HYPER = ("lr", "betas", "eps", "weight_decay", "momentum", "dampening", "amsgrad", "nesterov")


class ResumeConfigError(CheckpointError):
    """A resumed run changed settings that cannot change mid-run. Names each key, its two values and why."""


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: list(value) if isinstance(value, tuple) else value}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def config_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{dotted key: (saved value, current value)}`` for every leaf that differs (missing leaves are ``None``)."""
    old, new = _flatten(saved), _flatten(current)
    return {
        key: (old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if not _same(old.get(key), new.get(key))
    }


def refuse_changes(changes: Mapping[str, tuple[Any, Any]], source: object) -> None:
    """Raise [`ResumeConfigError`][fusionblocks.train.resume_changes.ResumeConfigError] if ``changes`` touch a
    key of ``REFUSED_ON_RESUME``."""
    refused = [key for key in changes if key in REFUSED_ON_RESUME]
    if refused:
        listing = "; ".join(
            f"{key}: {changes[key][0]!r} -> {changes[key][1]!r} ({REFUSED_ON_RESUME[key]})" for key in refused
        )
        raise ResumeConfigError(
            f"{source}: cannot resume with changed {listing}; resume with the checkpoint's values, or start a new "
            "run (another --out) to use the new ones"
        )


def apply_optimizer_settings(
    optimizer: torch.optim.Optimizer, fresh_groups: list[dict[str, Any]], name: str
) -> dict[str, tuple[Any, Any]]:
    """Set the hyper-parameters of a freshly built optimiser (``fresh_groups``, its param groups without
    ``params``) on the same optimiser after it loaded a checkpoint's state; returns what changed.

    Returns:
        ``{"optimizer NAME group I KEY": (restored value, applied value)}``.

    Raises:
        ResumeConfigError: the restored state has another number of parameter groups.
    """
    if len(fresh_groups) != len(optimizer.param_groups):
        raise ResumeConfigError(
            f"optimizer {name}: the checkpoint has {len(optimizer.param_groups)} parameter groups, the rebuilt "
            f"optimiser {len(fresh_groups)}"
        )
    changed: dict[str, tuple[Any, Any]] = {}
    for index, (group, fresh) in enumerate(zip(optimizer.param_groups, fresh_groups)):
        for key, value in fresh.items():
            if key == "params":
                continue
            restored = group.get(key)
            if key in _HYPER and not _same(_plain(restored), _plain(value)):
                changed[f"optimizer {name} group {index} {key}"] = (_plain(restored), _plain(value))
            group[key] = value
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
