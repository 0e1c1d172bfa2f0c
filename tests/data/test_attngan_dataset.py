"""AttnGAN-format CUB/COCO datasets on tiny fixtures written in the exact layout (conftest.write_attngan)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from fusionblocks.data import (
    AttnGANDataset,
    COCODataset,
    CUBDataset,
    bbox_crop_box,
    collate_captions,
    item_generator,
    read_key_list,
    subsample_words,
)
from fusionblocks.text import Vocabulary


def _is_subsequence(short, long) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


# ------------------------------------------------------------------------------------------ bbox crop math


@pytest.mark.parametrize(
    "bbox, size, expected",
    [
        # r = floor(0.75 * 30) = 22; centre (25, 28) -> (3, 6, 47, 50)
        ((10, 20, 30, 16), (100, 80), (3, 6, 47, 50)),
        # r = floor(0.75 * 31) = 23; centre (floor 26.0, floor 28.0) -> (3, 5, 49, 51)
        ((10.5, 20.5, 31.0, 15.0), (100, 80), (3, 5, 49, 51)),
        # r = 30, centre (20, 10): clipped on every side to the 50 x 30 image
        ((0, 0, 40, 20), (50, 30), (0, 0, 50, 30)),
        # tall box: r = floor(0.75 * 40) = 30, centre (25, 40); clipped at the top only
        ((20, 20, 10, 40), (200, 200), (0, 10, 55, 70)),
    ],
)
def test_bbox_crop_box_hand_computed(bbox, size, expected):
    assert bbox_crop_box(bbox, *size) == expected


def test_cub_item_matches_a_reference_transform(cub):
    ds = CUBDataset(cub.root, "train", base_size=16, num_scales=3, random_transform=False)
    key = cub.train_keys[1]
    item = ds[1]
    # reference: crop with the documented formula, resize shorter side to int(64*76/64)=76, centre crop 64, PIL bilinear
    img = Image.open(cub.root / "CUB_200_2011" / "images" / f"{key}.jpg").convert("RGB")
    x, y, w, h = cub.bboxes[key]
    r = math.floor(0.75 * max(w, h))
    cx, cy = math.floor(x + w / 2), math.floor(y + h / 2)
    img = img.crop((max(0, cx - r), max(0, cy - r), min(img.width, cx + r), min(img.height, cy + r)))
    s = 76 / min(img.size)
    nw, nh = (76, int(img.height * s)) if img.width <= img.height else (int(img.width * s), 76)
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - 64) // 2, (nh - 64) // 2
    img = img.crop((left, top, left + 64, top + 64))
    for level, size in zip(item["images"], (16, 32, 64)):
        ref = img if size == 64 else img.resize((size, size), Image.BILINEAR)
        expected = torch.from_numpy(np.asarray(ref, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1
        assert level.shape == (3, size, size)
        torch.testing.assert_close(level, expected, atol=1e-6, rtol=0)
    assert item["image"] is item["images"][-1]
    assert item["key"] == key and item["class_id"] == cub.class_ids[key]


# ------------------------------------------------------------------------------------------ pyramid


@pytest.mark.parametrize("base, scales", [(64, 3), (32, 2), (8, 1)])
def test_pyramid_shapes_and_range(cub, base, scales):
    ds = AttnGANDataset(cub.root, "train", base_size=base, num_scales=scales)
    item = ds[0]
    assert [tuple(t.shape) for t in item["images"]] == [(3, base * 2**k, base * 2**k) for k in range(scales)]
    for t in item["images"]:
        assert t.dtype == torch.float32 and t.min() >= -1 and t.max() <= 1
    # lower scales are bilinear downsamplings of the top crop
    top = Image.fromarray(((item["images"][-1] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy())
    for k in range(scales - 1):
        s = base * 2**k
        ref = torch.from_numpy(np.asarray(top.resize((s, s), Image.BILINEAR), dtype=np.float32)).permute(2, 0, 1)
        assert torch.allclose((item["images"][k] + 1) * 127.5, ref, atol=1.01)


def test_pyramid_helper_from_one_resolution():
    from fusionblocks.data import pyramid, pyramid_sizes

    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert pyramid_sizes(32, 3) == [8, 16, 32]
    levels = pyramid(x, pyramid_sizes(32, 3))
    assert [lv.shape[-1] for lv in levels] == [8, 16, 32] and levels[-1] is x
    # a symmetric (triangle) antialiasing filter keeps constants and, away from the border, linear ramps:
    # input pixel j holds j + 0.5, so output pixel i (centred on input coordinate 2i + 1) holds 2i + 1
    ramp = (torch.arange(16.0) + 0.5).expand(1, 3, 16, 16).contiguous()
    out = pyramid(ramp, [8])[0]
    torch.testing.assert_close(out[..., 1:-1], (2 * torch.arange(8.0) + 1)[1:-1].expand(1, 3, 8, 6))
    torch.testing.assert_close(pyramid(torch.full((3, 16, 16), 0.3), [4])[0], torch.full((3, 4, 4), 0.3))
    with pytest.raises(ValueError, match="top"):
        pyramid_sizes(30, 3)


# ------------------------------------------------------------------------------------------ words


@given(n=st.integers(0, 40), m=st.integers(1, 20), seed=st.integers(0, 2**31))
def test_subsample_words_preserves_order_and_length(n, m, seed):
    ids = list(range(1, n + 1))
    kept = subsample_words(ids, m, np.random.default_rng(seed))
    assert len(kept) == min(n, m)
    assert kept == sorted(kept) and set(kept) <= set(ids)  # ordered subset
    if n <= m:
        assert kept == ids


def test_subsample_is_not_truncation():
    ids = list(range(1, 31))
    subsets = {tuple(subsample_words(ids, 5, np.random.default_rng(s))) for s in range(20)}
    assert len(subsets) > 10  # a truncation would always give ids[:5]


def test_long_captions_are_subsampled_in_order(cub):
    ds = CUBDataset(cub.root, "train", base_size=8, num_scales=1, max_words=4)
    for i in range(len(ds)):
        item = ds[i]
        full = ds.token_ids(i)[item["caption_index"]]
        assert item["length"] == min(len(full), 4) and item["tokens"].shape == (4,)
        assert _is_subsequence(item["tokens"][: item["length"]].tolist(), full)
        assert (item["tokens"][item["length"] :] == 0).all()


# ------------------------------------------------------------------------------------------ captions


def test_captions_from_pickle_match_the_raw_text(cub):
    ds = CUBDataset(cub.root, "train", base_size=8, num_scales=1, max_words=30)
    assert ds.captions_per_image == 2
    assert ds.vocabulary.itos[: 4] == [cub.ixtoword[i] for i in range(4)]
    for i, k in enumerate(cub.train_keys):
        assert ds.captions(i) == cub.captions[k]
        item = ds[i]
        words = cub.captions[k][item["caption_index"]].split()
        assert item["tokens"][: item["length"]].tolist() == [cub.wordtoix[w] for w in words]
    test = CUBDataset(cub.root, "test", base_size=8, num_scales=1)
    assert [test.captions(i) for i in range(len(test))] == [cub.captions[k] for k in cub.test_keys]


def test_captions_from_json_vocabulary_and_text(cub, tmp_path):
    vocab = Vocabulary([cub.ixtoword[i] for i in range(len(cub.ixtoword))])
    path = tmp_path / "vocab.json"
    vocab.save(path)
    ds = CUBDataset(cub.root, "train", base_size=8, num_scales=1, vocabulary=str(path), captions_per_image=2,
                    max_words=30)
    ref = CUBDataset(cub.root, "train", base_size=8, num_scales=1, max_words=30)
    for i in range(len(ds)):
        a, b = ds[i], ref[i]
        assert a["caption"] == b["caption"] and torch.equal(a["tokens"], b["tokens"])


def test_vocabulary_built_from_text_without_pickle(tmp_path, attngan_factory):
    fx = attngan_factory(tmp_path / "coco", "coco", with_pickle=False)
    ds = COCODataset(fx.root, "test", base_size=8, num_scales=1, captions_per_image=2)
    # train then test order: the same first-appearance order the fixture used for its ixtoword
    assert ds.vocabulary.itos == [fx.ixtoword[i] for i in range(len(fx.ixtoword))]
    assert ds.captions(0) == fx.captions[fx.test_keys[0]]


def test_zero_length_captions_are_skipped_and_reported(cub, tmp_path):
    vocab = Vocabulary(["<end>", "bird", "red"])
    key = cub.train_keys[0]
    (cub.root / "text" / f"{key}.txt").write_text("zzz qqq\nthe bird is red\n")
    with pytest.raises(ValueError, match="no caption with a known word"):
        CUBDataset(cub.root, "train", base_size=8, num_scales=1, vocabulary=Vocabulary(["<end>", "zebra"]))
    ds = CUBDataset(cub.root, "train", base_size=8, num_scales=1, vocabulary=vocab, captions_per_image=2)
    assert ds.captions(0) == ["the bird is red"]  # "zzz qqq" has no known word: skipped like the official builder
    assert ds[0]["length"] == 2


# ------------------------------------------------------------------------------------------ class ids, py2 and safety


def test_class_info_absent_means_one_class_per_image(coco):
    ds = COCODataset(coco.root, "train", base_size=8, num_scales=1)
    assert [ds[i]["class_id"] for i in range(len(ds))] == list(range(len(coco.train_keys)))


def test_dataset_kind_is_detected(cub, coco):
    assert AttnGANDataset(cub.root, base_size=8, num_scales=1).dataset == "cub"  # CUB_200_2011/ present
    assert AttnGANDataset(coco.root, base_size=8, num_scales=1).dataset == "coco"


def test_python2_byte_string_pickles_are_decoded(cub):
    # a Python-2 protocol-2 pickle of ['<key0>', '<key1>', ...] as byte strings (SHORT_BINSTRING opcodes)
    body = b"".join(b"U" + bytes([len(k)]) + k.encode() for k in cub.train_keys)
    (cub.root / "train" / "filenames.pickle").write_bytes(b"\x80\x02](" + body + b"e.")
    assert read_key_list(cub.root / "train" / "filenames.pickle") == cub.train_keys
    assert len(CUBDataset(cub.root, "train", base_size=8, num_scales=1)) == len(cub.train_keys)


def test_pickles_with_code_are_refused(cub):
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (cub.root / "train" / "class_info.pickle").write_bytes(pickle.dumps([Evil()], protocol=2))
    with pytest.raises(ValueError, match="class_info.pickle"):
        CUBDataset(cub.root, "train", base_size=8, num_scales=1)


def test_missing_image_is_named(cub):
    key = cub.train_keys[2]
    (cub.root / "CUB_200_2011" / "images" / f"{key}.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=key.split("/")[-1]):
        CUBDataset(cub.root, "train", base_size=8, num_scales=1)


def test_bad_arguments(cub):
    with pytest.raises(ValueError, match="split"):
        AttnGANDataset(cub.root, "valid")
    with pytest.raises(ValueError, match="dataset"):
        AttnGANDataset(cub.root, dataset="flowers")
    with pytest.raises(ValueError, match="captions_per_image"):
        AttnGANDataset(cub.root, captions_per_image=3)


# ------------------------------------------------------------------------------------------ randomness


def test_determinism_by_seed_and_new_captions_across_epochs(cub):
    kw = dict(base_size=16, num_scales=2, max_words=5)
    a, b = CUBDataset(cub.root, "train", seed=7, **kw), CUBDataset(cub.root, "train", seed=7, **kw)
    for i in (2, 0, 1):
        x, y = a[i], b[i]
        assert x["caption"] == y["caption"] and torch.equal(x["tokens"], y["tokens"])
        assert all(torch.equal(p, q) for p, q in zip(x["images"], y["images"]))
    first = [(a[i]["caption_index"], a[i]["tokens"].tolist()) for i in range(len(a))]
    seen_other = False
    for epoch in range(1, 6):
        a.set_epoch(epoch)
        seen_other |= [(a[i]["caption_index"], a[i]["tokens"].tolist()) for i in range(len(a))] != first
    assert seen_other
    c = CUBDataset(cub.root, "train", seed=8, **kw)
    assert any(not torch.equal(a[i]["image"], c[i]["image"]) for i in range(len(a)))


def test_item_generator_streams_are_independent():
    draws = {tuple(item_generator(0, e, i).integers(0, 2**31, size=3)) for e in range(3) for i in range(5)}
    assert len(draws) == 15
    torch.manual_seed(1)
    x = item_generator(None, 0, 0).integers(0, 2**31)
    torch.manual_seed(1)
    assert item_generator(None, 0, 0).integers(0, 2**31) == x  # seed=None follows torch's (per-worker) generator


def test_dataloader_two_workers_batch_size_one(cub):
    ds = CUBDataset(cub.root, "train", base_size=8, num_scales=2, max_words=6)
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=2, collate_fn=collate_captions)
    batches = list(loader)
    assert len(batches) == len(ds)
    for i, batch in enumerate(batches):
        ref = ds[i]  # same item whatever worker loaded it: the generator depends on (seed, epoch, index) only
        assert [t.shape for t in batch["images"]] == [(1, 3, 8, 8), (1, 3, 16, 16)]
        assert batch["captions"] == [ref["caption"]] and batch["keys"] == [ref["key"]]
        assert torch.equal(batch["tokens"][0], ref["tokens"]) and batch["lengths"].tolist() == [ref["length"]]
        assert torch.equal(batch["images"][1][0], ref["images"][1])


def test_dfgan_layout_variant(tmp_path, attngan_factory):
    fx = attngan_factory(tmp_path / "coco", "coco", with_class_info=False)
    (fx.root / "captions.pickle").rename(fx.root / "captions_DAMSM.pickle")
    sub = fx.root / "images" / "train2014"
    sub.mkdir()
    for k in fx.train_keys:
        (fx.root / "images" / f"{k}.jpg").rename(sub / f"{k}.jpg")
    ds = COCODataset(fx.root, "train", base_size=8, num_scales=1, captions_file="captions_DAMSM.pickle")
    assert ds.image_path(fx.train_keys[0]) == sub / f"{fx.train_keys[0]}.jpg"
    assert ds.captions(1) == fx.captions[fx.train_keys[1]] and ds[1]["image"].shape == (3, 8, 8)
