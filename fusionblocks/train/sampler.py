"""A data sampler whose position can be saved and restored, with DDP sharding."""

from __future__ import annotations

from typing import Any, Iterator

from torch.utils.data import Dataset, DistributedSampler

__all__ = ["ResumableSampler"]


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` (seeded shuffle per epoch, one shard per rank) that can start mid-epoch.

    The order of epoch ``e`` is a permutation drawn from ``seed + e`` — the same on every rank, each rank taking
    every ``world_size``-th index — so it needs no RNG state of its own: ``(epoch, start_index)`` fully describes the
    position, and a resumed run sees exactly the samples an uninterrupted run would have seen.

    Args:
        dataset: The dataset (only its length is used).
        num_replicas: World size (default 1: a plain seeded shuffler).
        rank: This process's rank.
        shuffle: Shuffle within each epoch.
        seed: Base seed for the per-epoch permutations.
        drop_last: Drop the tail so that every rank gets the same number of samples.
    """

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = True,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        self.start_index = 0

    def set_epoch(self, epoch: int, start_index: int = 0) -> None:
        """Move to ``epoch`` and skip its first ``start_index`` samples (of this rank's shard)."""
        if start_index < 0 or start_index > self.num_samples:
            raise ValueError(f"start_index must be in [0, {self.num_samples}], got {start_index}")
        super().set_epoch(epoch)
        self.start_index = int(start_index)

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start_index :])

    def __len__(self) -> int:
        return self.num_samples - self.start_index

    def state_dict(self) -> dict[str, Any]:
        """``{"epoch", "start_index", "seed", "num_replicas"}`` (JSON-safe)."""
        return {
            "epoch": self.epoch, "start_index": self.start_index, "seed": self.seed, "num_replicas": self.num_replicas
        }
