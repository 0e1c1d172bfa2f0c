"""Writing a captioned dataset to disk and reading it back: caption folder and AttnGAN layout (with and without
captions.pickle) give the same captions, and the pickle's vocabulary is the one built from the text files."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.data import (
    CaptionedShapes,
    CaptionFolder,
    CUBDataset,
    ImageFolder,
    dataset_vocabulary,
    write_attngan_layout,
    write_caption_folder,
)


def _shapes(split: str, size: int) -> CaptionedShapes:
    return CaptionedShapes(size=size, resolution=32, split=split, max_objects=1, captions_per_image=3)


def test_caption_folder_round_trip(tmp_path):
    shapes = _shapes("train", 5)
    root = write_caption_folder(shapes, tmp_path / "my_data")
    folder = CaptionFolder(root, base_size=32, random_transform=False)
    assert len(folder) == 5
    assert folder.all_captions() == [shapes.captions(i) for i in range(5)]
    # lossless PNG: the pixels come back up to 8-bit rounding (ImageFolder keeps a square image as it is)
    assert torch.allclose(ImageFolder(root)[2]["image"], shapes[2]["image"], atol=1 / 127.5 + 1e-6)
    with pytest.raises(FileExistsError):
        write_caption_folder(shapes, root)


def test_attngan_layout_with_and_without_pickle(tmp_path):
    train, test = _shapes("train", 6), _shapes("test", 3)
    with_pickle = write_attngan_layout(tmp_path / "birds", train, test)
    without = write_attngan_layout(tmp_path / "birds_text", train, test, captions_pickle=False)
    assert (with_pickle / "captions.pickle").is_file() and not (without / "captions.pickle").exists()
    a = CUBDataset(with_pickle, "train", base_size=32, num_scales=1, random_transform=False)
    b = CUBDataset(without, "train", base_size=32, num_scales=1, random_transform=False, captions_per_image=3)
    assert a.captions_per_image == b.captions_per_image == 3
    assert [a.captions(i) for i in range(6)] == [b.captions(i) for i in range(6)] == [train.captions(i) for i in range(6)]
    assert a.vocabulary == b.vocabulary  # the pickle's vocabulary = the one built from text/ (train, then test)
    assert dataset_vocabulary("cub", with_pickle).source.endswith("captions.pickle")
    assert "text/" in dataset_vocabulary("cub", without).source
    test_split = CUBDataset(with_pickle, "test", base_size=32, num_scales=1)
    assert test_split.class_ids == [test[i]["class_id"] + 1 for i in range(3)]
    assert a[0]["image"].shape == (3, 32, 32) and a[0]["tokens"].dtype == torch.long


def test_coco_layout_reads_back_with_its_captions_and_one_class_per_image(tmp_path):
    from fusionblocks.data import COCODataset

    train, test = _shapes("train", 4), _shapes("test", 2)
    root = write_attngan_layout(tmp_path / "coco", train, test, dataset="coco")
    assert (root / "images" / "COCO_train2014_000000000003.jpg").is_file() and not (root / "CUB_200_2011").exists()
    assert (root / "images" / "COCO_val2014_000000000001.jpg").is_file()  # AttnGAN's COCO test split is val2014
    assert not (root / "train" / "class_info.pickle").exists()
    coco = COCODataset(root, "train", base_size=32, num_scales=1, random_transform=False, captions_per_image=3)
    assert [coco.captions(i) for i in range(4)] == [train.captions(i) for i in range(4)]
    assert coco.class_ids == [0, 1, 2, 3]  # without class_info.pickle every image is its own class
    held_out = COCODataset(root, "test", base_size=32, num_scales=1, random_transform=False, captions_per_image=3)
    assert [held_out.captions(i) for i in range(2)] == [test.captions(i) for i in range(2)]
    # each key holds its own picture (JPEG, so compared by nearest neighbour rather than exactly)
    for read, written in ((coco, train), (held_out, test)):
        distance = torch.stack([torch.stack([(read[i]["image"] - written[j]["image"]).abs().mean()
                                             for j in range(len(written))]) for i in range(len(read))])
        assert distance.argmin(1).tolist() == list(range(len(read))), distance
    assert dataset_vocabulary("coco", root).source.endswith("captions.pickle")
    with pytest.raises(ValueError, match="dataset"):
        write_attngan_layout(tmp_path / "x", train, test, dataset="flowers")
