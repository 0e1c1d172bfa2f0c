"""EMA (parameters averaged, buffers copied), RNG capture/restore, resumable sharded sampler."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from fusionblocks.train.ema import ModelEMA
from fusionblocks.train.rng import capture_rng_state, restore_rng_state, seed_everything
from fusionblocks.train.sampler import ResumableSampler


def test_ema_matches_formula_and_copies_batchnorm_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = ModelEMA(model, decay=0.9)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.train()
    model(torch.randn(8, 3))  # moves the BN running statistics
    ema.update(model)
    for name, p in model.named_parameters():
        expected = 0.9 * start[name] + 0.1 * p.detach()
        torch.testing.assert_close(dict(ema.module.named_parameters())[name], expected)
    for name, b in model.named_buffers():
        assert torch.equal(dict(ema.module.named_buffers())[name], b), name  # an official-code slip: buffers follow
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_ema_bad_input():
    with pytest.raises(ValueError, match="decay"):
        ModelEMA(nn.Linear(2, 2), decay=1.0)
    with pytest.raises(TypeError, match="model"):
        ModelEMA("x")  # type: ignore[arg-type]
    ema = ModelEMA(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="model"):
        ema.update(nn.Linear(2, 3, bias=False))


def _draw(gen):
    return (torch.rand(3).tolist(), random.random(), float(np.random.rand()), torch.rand(2, generator=gen).tolist())


def test_rng_state_round_trip_through_json():
    import json

    seed_everything(3)
    gen = torch.Generator().manual_seed(11)
    _draw(gen)
    state = json.loads(json.dumps(capture_rng_state({"data": gen})))
    first = _draw(gen)
    _draw(gen)
    restore_rng_state(state, {"data": gen})
    assert _draw(gen) == first
    with pytest.raises(ValueError, match="generator"):
        restore_rng_state(state, {})


def test_sampler_resume_mid_epoch_and_sharding():
    data = list(range(23))
    full = ResumableSampler(data, seed=5)
    full.set_epoch(2)
    order = list(full)
    assert sorted(order) == data[:23] and len(order) == 23
    resumed = ResumableSampler(data, seed=5)
    resumed.set_epoch(2, start_index=9)
    assert list(resumed) == order[9:] and len(resumed) == 14
    # shards: disjoint, equal length, union inside the dataset
    shards = [ResumableSampler(data, num_replicas=2, rank=r, seed=5) for r in range(2)]
    for s in shards:
        s.set_epoch(1)
    a, b = (list(s) for s in shards)
    assert len(a) == len(b) == 11 and not set(a) & set(b)
    other = ResumableSampler(data, seed=5)
    other.set_epoch(3)
    assert list(other) != order  # epochs differ
    with pytest.raises(ValueError, match="start_index"):
        resumed.set_epoch(0, start_index=99)
