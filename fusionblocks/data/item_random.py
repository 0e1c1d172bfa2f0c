"""Per-item random generators, so that DataLoader workers never share a random stream (the official loaders drew from
numpy's global generator).

With an integer ``seed``, item ``index`` at ``epoch`` uses ``numpy.random.default_rng([seed, epoch, index, salt])``:
a local generator, reproducible whatever worker loads the item and in whatever order. With ``seed=None`` the
generator is seeded from torch's default generator, which the DataLoader seeds differently in every worker and every
epoch (``base_seed + worker_id``); that is random but not reproducible by index. The numpy *global* RNG is never used.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["item_generator", "check_seed"]


def check_seed(seed: object, name: str = "seed", allow_none: bool = True) -> int | None:
    """``seed`` must be a non-negative int (or ``None`` when allowed); the error names ``name``."""
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name}: expected a non-negative int{' or None' if allow_none else ''}, got {seed!r}")
    return int(seed)


def item_generator(seed: int | None, epoch: int, index: int, salt: int = 0) -> np.random.Generator:
    """The random generator of one item.

    Args:
        seed: base seed, or ``None`` to draw from torch's (per-worker seeded) default generator.
        epoch: the epoch (``set_epoch`` of the datasets).
        index: the item index.
        salt: separates independent streams of one item (e.g. caption choice vs. crop).

    Returns:
        A ``numpy.random.Generator``.
    """
    if seed is None:
        return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
    return np.random.default_rng([int(seed), int(epoch), int(index), int(salt)])
