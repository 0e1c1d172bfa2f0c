"""Capture and restore every random-number generator a training run draws from.

Torch (CPU and each CUDA device), Python's ``random``, NumPy's legacy global generator and any extra
``torch.Generator`` objects (e.g. the data generator) are captured into a JSON-safe dict, so a resumed run draws
exactly the numbers an uninterrupted run would have drawn.
"""

from __future__ import annotations

import random
from typing import Any, Mapping

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state", "seed_everything"]


def _bytes_to_list(state: torch.Tensor) -> list[int]:
    return state.to(torch.uint8).tolist()


def _list_to_bytes(values: list[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.uint8)


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), Python's ``random`` and NumPy's global generator: the one call that makes a run
    reproducible.

    Call it once, *before* building the model: the random initial weights come from torch's global generator, so
    building first gives every run different weights. ``fusionblocks train --seed N`` does exactly this, and two
    fresh runs with the same seed then give bit-identical weights, metrics and samples on the CPU (model
    initialisation, data order and noise). The [`Trainer`][fusionblocks.train.trainer.Trainer] re-seeds with
    ``seed + rank`` for the training loop itself, and datasets take their own ``seed``. On GPUs also pass
    ``TrainerConfig(deterministic=True)`` for bit-identical runs.

    Example:
        >>> seed_everything(0)
        >>> gan = build_ffgan("tiny64")      # same weights in every run
        >>> Trainer(gan, CaptionedShapes(512, seed=0), "runs/x", TrainerConfig(seed=0)).fit()

    Args:
        seed: A non-negative integer.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def capture_rng_state(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Return the state of all global generators (and of ``generators``) as plain JSON-serialisable data.

    Args:
        generators: Extra named ``torch.Generator`` objects (for example the data sampler's).

    Returns:
        ``{"torch": [...], "cuda": [[...], ...], "python": [...], "numpy": {...}, "generators": {name: [...]}}``.
    """
    py_version, py_internal, py_gauss = random.getstate()
    np_state: tuple[Any, ...] = tuple(np.random.get_state(legacy=True))
    state: dict[str, Any] = {
        "torch": _bytes_to_list(torch.get_rng_state()),
        "cuda": [_bytes_to_list(s) for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "python": [py_version, list(py_internal), py_gauss],
        "numpy": {
            "kind": str(np_state[0]),
            "keys": np.asarray(np_state[1]).tolist(),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "generators": {name: _bytes_to_list(g.get_state()) for name, g in (generators or {}).items()},
    }
    return state


def restore_rng_state(state: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None) -> None:
    """Restore what [`capture_rng_state`][fusionblocks.train.rng.capture_rng_state] captured.

    Args:
        state: The captured dict.
        generators: The same named generators that were captured; each is restored in place.

    Raises:
        ValueError: ``state`` lacks a key, or names a generator not passed in ``generators``.
    """
    for key in ("torch", "python", "numpy"):
        if key not in state:
            raise ValueError(f"state: missing RNG entry {key!r}")
    torch.set_rng_state(_list_to_bytes(state["torch"]))
    cuda_states = state.get("cuda") or []
    if cuda_states and torch.cuda.is_available():
        count = min(len(cuda_states), torch.cuda.device_count())
        torch.cuda.set_rng_state_all([_list_to_bytes(s) for s in cuda_states[:count]])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np.asarray(np_state["keys"], dtype=np.uint32),
            int(np_state["pos"]),
            int(np_state["has_gauss"]),
            float(np_state["cached_gaussian"]),
        )
    )
    saved = state.get("generators") or {}
    generators = generators or {}
    for name, values in saved.items():
        if name not in generators:
            raise ValueError(f"state: RNG state for generator {name!r} but no such generator was given")
        generators[name].set_state(_list_to_bytes(values))
