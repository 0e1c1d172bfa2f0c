"""Tiny fixtures written in exactly the AttnGAN layout (docs/ffgan.md "Data layout"), plus helpers for the data
tests."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CAPTIONS = [
    "this bird has a red crown and a short beak",
    "a small bird with white wings and a long black tail",
    "the bird is blue with yellow feet",
    "a tiny brown bird perched on a thin branch",
    "this bird has a bright orange breast and grey wings",
    "a large bird with a hooked beak",
    "the small bird has green feathers on its back",
    "a bird with a striped head and pointed beak",
]


@dataclass
class AttnGANFixture:
    root: Path
    train_keys: list[str]
    test_keys: list[str]
    captions: dict[str, list[str]]  # key -> raw caption lines
    sizes: dict[str, tuple[int, int]]  # key -> (width, height)
    bboxes: dict[str, tuple[float, float, float, float]]
    class_ids: dict[str, int]
    ixtoword: dict[int, str]
    wordtoix: dict[str, int]


def _image(w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 255, size=3)
    arr = np.stack([(xx * 255 // w + base[0]) % 256, (yy * 255 // h + base[1]) % 256, np.full_like(xx, base[2])], -1)
    return Image.fromarray(arr.astype(np.uint8))


def write_attngan(
    root: Path, dataset: str = "cub", n_train: int = 3, n_test: int = 2, cpi: int = 2, with_pickle: bool = True,
    with_class_info: bool = True,
) -> AttnGANFixture:
    root.mkdir(parents=True)
    if dataset == "cub":
        keys = [f"{1 + i % 2:03d}.Bird_{1 + i % 2}/Bird_{i:04d}_{100 + i}" for i in range(n_train + n_test)]
    else:
        keys = [f"COCO_train2014_{i:012d}" for i in range(n_train + n_test)]
    train_keys, test_keys = keys[:n_train], keys[n_train:]
    captions: dict[str, list[str]] = {}
    sizes, bboxes, class_ids = {}, {}, {}
    lines_images, lines_boxes = [], []
    for i, k in enumerate(keys):
        w, h = 60 + 13 * i, 48 + 7 * i
        sizes[k] = (w, h)
        img_dir = root / ("CUB_200_2011/images" if dataset == "cub" else "images")
        path = img_dir / f"{k}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        _image(w, h, i).save(path, quality=95)
        bboxes[k] = (5.0 + i, 4.0 + 2 * i, 30.0 + 3 * i, 25.0 + i)
        lines_images.append(f"{i + 1} {k}.jpg")
        lines_boxes.append(f"{i + 1} " + " ".join(str(v) for v in bboxes[k]))
        class_ids[k] = 1 + i % 2
        caps = [CAPTIONS[(i * cpi + j) % len(CAPTIONS)] for j in range(cpi)]
        captions[k] = caps
        tp = root / "text" / f"{k}.txt"
        tp.parent.mkdir(parents=True, exist_ok=True)
        tp.write_text("\n".join(caps) + "\n\n")
    if dataset == "cub":
        (root / "CUB_200_2011" / "images.txt").write_text("\n".join(lines_images) + "\n")
        (root / "CUB_200_2011" / "bounding_boxes.txt").write_text("\n".join(lines_boxes) + "\n")
    # vocabulary in order of first appearance over train then test, index 0 = <end>
    ixtoword = {0: "<end>"}
    wordtoix = {"<end>": 0}
    for k in keys:
        for c in captions[k]:
            for wd in c.split():
                if wd not in wordtoix:
                    wordtoix[wd] = len(ixtoword)
                    ixtoword[len(ixtoword)] = wd
    for split, ks in (("train", train_keys), ("test", test_keys)):
        (root / split).mkdir()
        with open(root / split / "filenames.pickle", "wb") as f:
            pickle.dump(ks, f, protocol=2)
        if with_class_info:
            with open(root / split / "class_info.pickle", "wb") as f:
                pickle.dump([class_ids[k] for k in ks], f, protocol=2)
    if with_pickle:
        enc = lambda ks: [[wordtoix[w] for w in c.split()] for k in ks for c in captions[k]]  # noqa: E731
        with open(root / "captions.pickle", "wb") as f:
            pickle.dump([enc(train_keys), enc(test_keys), ixtoword, wordtoix], f, protocol=2)
    return AttnGANFixture(root, train_keys, test_keys, captions, sizes, bboxes, class_ids, ixtoword, wordtoix)


@pytest.fixture
def cub(tmp_path: Path) -> AttnGANFixture:
    return write_attngan(tmp_path / "birds", "cub")


@pytest.fixture
def coco(tmp_path: Path) -> AttnGANFixture:
    return write_attngan(tmp_path / "coco", "coco", with_class_info=False)


@pytest.fixture
def attngan_factory():
    return write_attngan


@pytest.fixture
def make_image():
    def _make(path: Path, w: int = 40, h: int = 30, seed: int = 0) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        _image(w, h, seed).save(path)
        return path

    return _make
