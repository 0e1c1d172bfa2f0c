"""CaptionFolder: the .txt and captions.jsonl layouts, and the bad-input errors naming the file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from fusionblocks.data import CaptionFolder, collate_captions
from fusionblocks.text import Vocabulary


def _txt_folder(root, make_image):
    make_image(root / "a.jpg", 40, 30, 0)
    (root / "a.txt").write_text("a red bird\n\na bird with red wings\n")
    make_image(root / "sub" / "b.png", 30, 50, 1)
    (root / "sub" / "b.txt").write_text("a blue bird\n")
    make_image(root / "c.webp", 33, 33, 2)
    (root / "c.txt").write_text("a green bird on a branch")
    return root


def test_txt_layout(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    ds = CaptionFolder(root, base_size=8, num_scales=2)
    assert ds.layout == "txt" and len(ds) == 3
    assert ds.keys == ["a", "c", "sub/b"]
    assert ds.captions(0) == ["a red bird", "a bird with red wings"]  # blank lines skipped
    assert ds.captions(2) == ["a blue bird"]
    item = ds[0]
    assert [t.shape for t in item["images"]] == [(3, 8, 8), (3, 16, 16)]
    assert item["caption"] in ds.captions(0) and item["caption"] == ds.captions(0)[item["caption_index"]]
    assert item["class_id"] == 0 and item["key"] == "a"
    assert item["image"].min() >= -1 and item["image"].max() <= 1


def test_jsonl_layout(tmp_path, make_image):
    root = tmp_path / "imgs"
    make_image(root / "x.jpg")
    make_image(root / "d" / "y.png")
    lines = [
        {"file": "x.jpg", "caption": "a cat"},
        {"file": "d/y.png", "captions": ["a dog", "a brown dog"]},
        {"file": "x.jpg", "caption": "a sleeping cat"},
    ]
    (root / "captions.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    vocab = Vocabulary.build(["a cat", "a dog brown sleeping"])
    ds = CaptionFolder(root, base_size=8, vocabulary=vocab, max_words=3)
    assert ds.layout == "jsonl" and len(ds) == 2
    assert ds.captions(0) == ["a cat", "a sleeping cat"] and ds.captions(1) == ["a dog", "a brown dog"]
    item = ds[1]
    assert item["tokens"].shape == (3,)
    assert item["tokens"][: item["length"]].tolist() == vocab.encode(item["caption"])
    # an explicit JSONL path works too
    assert len(CaptionFolder(root, captions=root / "captions.jsonl", base_size=8)) == 2


def test_deterministic_and_eval_transform(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    a, b = CaptionFolder(root, base_size=16, seed=3), CaptionFolder(root, base_size=16, seed=3)
    assert all(torch.equal(a[i]["image"], b[i]["image"]) and a[i]["caption"] == b[i]["caption"] for i in range(3))
    ev = CaptionFolder(root, base_size=16, random_transform=False)
    # centre crop of the resized image: reference via PIL, shorter side -> int(16*76/64) = 19
    img = Image.open(root / "a.jpg").convert("RGB").resize((25, 19), Image.BILINEAR)  # 40x30 -> int(19*40/30)=25
    ref = np.asarray(img.crop((4, 1, 20, 17)), dtype=np.float32) / 127.5 - 1
    torch.testing.assert_close(ev[0]["image"], torch.from_numpy(ref).permute(2, 0, 1), atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------------------ bad input


def test_missing_image_named(tmp_path, make_image):
    root = tmp_path / "imgs"
    make_image(root / "x.jpg")
    (root / "captions.jsonl").write_text(json.dumps({"file": "gone.jpg", "caption": "a cat"}) + "\n")
    with pytest.raises(FileNotFoundError, match="gone.jpg"):
        CaptionFolder(root)
    root2 = tmp_path / "imgs2"
    make_image(root2 / "x.jpg")
    (root2 / "x.txt").write_text("a cat\n")
    (root2 / "orphan.txt").write_text("a dog\n")
    with pytest.raises(FileNotFoundError, match="orphan.txt"):
        CaptionFolder(root2)


def test_empty_caption_named(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    (root / "c.txt").write_text("\n   \n")
    with pytest.raises(ValueError, match="c.txt"):
        CaptionFolder(root)
    root2 = tmp_path / "imgs2"
    make_image(root2 / "x.jpg")
    (root2 / "captions.jsonl").write_text(json.dumps({"file": "x.jpg", "caption": "  "}) + "\n")
    with pytest.raises(ValueError, match="captions.jsonl:1.*empty caption|empty caption.*captions.jsonl:1"):
        CaptionFolder(root2)
    (root2 / "captions.jsonl").write_text(json.dumps({"file": "x.jpg", "caption": "?!"}) + "\n")
    with pytest.raises(ValueError, match="captions.jsonl"):
        CaptionFolder(root2)


def test_unreadable_caption_file_named(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    (root / "sub" / "b.txt").write_bytes(b"\xff\xfe\x00bad \x80\x81 utf8")
    with pytest.raises(ValueError, match="b.txt"):
        CaptionFolder(root)
    root2 = tmp_path / "imgs2"
    make_image(root2 / "x.jpg")
    (root2 / "captions.jsonl").write_text('{"file": "x.jpg", "caption": "a cat"}\n{"file": "x.jpg", oops}\n')
    with pytest.raises(ValueError, match="captions.jsonl:2"):
        CaptionFolder(root2)


def test_uncaptioned_image_named_or_skipped(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    make_image(root / "lonely.jpg")
    with pytest.raises(FileNotFoundError, match="lonely.jpg"):
        CaptionFolder(root)
    assert len(CaptionFolder(root, skip_uncaptioned=True)) == 3


def test_corrupt_image_named_at_load_time(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    (root / "c.webp").write_bytes(b"not an image at all")
    ds = CaptionFolder(root, base_size=8)
    with pytest.raises(ValueError, match="c.webp"):
        ds[1]


def test_caption_without_known_words_named(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    (root / "c.txt").write_text("green leaves\n")
    with pytest.raises(ValueError, match="c.txt"):
        CaptionFolder(root, vocabulary=Vocabulary.build(["a red blue bird"]))
    assert len(CaptionFolder(root, vocabulary=Vocabulary.build(["a red blue bird green"]))) == 3


def test_folder_dataloader_batch_one_workers(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    ds = CaptionFolder(root, base_size=8, num_scales=2)
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=2, collate_fn=collate_captions)
    got = list(loader)
    assert [b["keys"][0] for b in got] == ds.keys
    assert all(torch.equal(b["image"][0], ds[i]["image"]) for i, b in enumerate(got))


def test_two_images_sharing_a_stem_are_reported(tmp_path, make_image):
    root = _txt_folder(tmp_path / "imgs", make_image)
    make_image(root / "a.png")
    with pytest.raises(ValueError, match="a.png"):
        CaptionFolder(root)
