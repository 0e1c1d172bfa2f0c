"""collate_captions: per-scale stacking, lists for strings, no sorting, batch size 1."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.data import CaptionedShapes, collate_captions, shapes_vocabulary


def test_collate_keeps_order_and_stacks_scales():
    ds = CaptionedShapes(size=6, resolution=16, num_scales=2, vocabulary=shapes_vocabulary())
    items = [ds[i] for i in range(6)]
    batch = collate_captions(items)
    assert [t.shape for t in batch["images"]] == [(6, 3, 8, 8), (6, 3, 16, 16)]
    assert batch["image"].shape == (6, 3, 16, 16)
    assert batch["captions"] == [it["caption"] for it in items]  # item order, not sorted by length
    assert batch["lengths"].tolist() == [it["length"] for it in items]
    assert batch["tokens"].shape == (6, 16) and batch["tokens"].dtype == torch.long
    assert batch["class_ids"].tolist() == [it["class_id"] for it in items]
    assert batch["attributes"] == [it["attributes"] for it in items]
    assert batch["keys"] == [f"train/{i}" for i in range(6)]
    for k in range(2):
        assert torch.equal(batch["images"][k][3], items[3]["images"][k])


def test_unsorted_lengths_stay_unsorted():
    ds = CaptionedShapes(size=40, resolution=8, vocabulary=shapes_vocabulary())
    items = [ds[i] for i in range(40)]
    lengths = [it["length"] for it in items]
    assert lengths != sorted(lengths, reverse=True)  # the fixture really is unsorted
    assert collate_captions(items)["lengths"].tolist() == lengths


def test_batch_of_one():
    ds = CaptionedShapes(size=2, resolution=8, vocabulary=shapes_vocabulary())
    batch = collate_captions([ds[1]])
    assert batch["image"].shape == (1, 3, 8, 8) and batch["tokens"].shape == (1, 16)
    assert batch["lengths"].shape == (1,) and isinstance(batch["captions"], list) and len(batch["captions"]) == 1


def test_collate_errors():
    ds = CaptionedShapes(size=2, resolution=8)
    with pytest.raises(ValueError, match="batch"):
        collate_captions([])
    a, b = ds[0], ds[1]
    b = dict(b)
    b.pop("key")
    with pytest.raises(ValueError, match="batch"):
        collate_captions([a, b])
    c = dict(ds[1], image=torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="image"):
        collate_captions([a, c])


def test_shapes_dataloader_two_workers_batch_one():
    ds = CaptionedShapes(size=5, resolution=8)
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=2, collate_fn=collate_captions)
    got = list(loader)
    assert len(got) == 5 and all(b["image"].shape == (1, 3, 8, 8) for b in got)
    assert [b["captions"][0] for b in got] == [ds[i]["caption"] for i in range(5)]
