"""The dataset decides the text encoder's vocabulary: captions pickle, one built from the captions, or none (CLIP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionblocks.data import (
    COCODataset,
    CaptionFolder,
    CUBDataset,
    dataset_captions,
    dataset_vocabulary,
    explicit_vocabulary,
    find_captions_pickle,
    shapes_vocabulary,
    vocabulary_for_config,
)
from fusionblocks.ffgan import build_ffgan, resolve_config
from fusionblocks.text import Vocabulary, tokenize
from fusionblocks.train import build_dataset

SMALL = {"model.ngf": 4, "model.ndf": 4, "model.z_dim": 8, "model.cond_dim": 8, "text.embedding_dim": 8,
         "text.hidden_dim": 16}


def _folder(root: Path, make_image, captions: dict[str, list[str]]) -> Path:
    for i, (stem, lines) in enumerate(captions.items()):
        make_image(root / f"{stem}.png", seed=i)
        (root / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    return root


CAT_CAPTIONS = {"a": ["a photo of a cat", "a grey cat"], "b": ["a red boat on the sea"], "c": ["a cat in a boat"]}


def test_folder_vocabulary_is_built_from_its_captions(tmp_path, make_image):
    root = _folder(tmp_path / "f", make_image, CAT_CAPTIONS)
    found = dataset_vocabulary("folder", root)
    words = [w for caps in CAT_CAPTIONS.values() for c in caps for w in tokenize(c)]
    assert set(found.vocabulary.itos[1:]) == set(words)
    assert found.vocabulary.itos[1:4] == ["a", "photo", "of"]  # first appearance, files sorted
    assert "folder" in found.source
    data = CaptionFolder(root, base_size=8, vocabulary="build")
    assert data.vocabulary == found.vocabulary
    # "...cat" and "...boat" stay different token sequences: nothing collapses
    encoded = {c: tuple(data.vocabulary.encode(c)) for caps in CAT_CAPTIONS.values() for c in caps}
    assert len(set(encoded.values())) == len(encoded)
    assert all(len(ids) == len(tokenize(c)) for c, ids in encoded.items())
    with pytest.raises(ValueError, match="vocabulary"):
        CaptionFolder(root, base_size=8, vocabulary="captioned_shapes")


def test_attngan_vocabulary_prefers_captions_pickle_then_dfgan_pickle_then_text(tmp_path, attngan_factory):
    fx = attngan_factory(tmp_path / "birds", "cub")
    expected = [fx.ixtoword[i] for i in range(len(fx.ixtoword))]
    found = dataset_vocabulary("cub", fx.root)
    assert found.vocabulary.itos == expected and found.source.endswith("captions.pickle")
    # DF-GAN's file name is found as well, by the vocabulary rule and by the dataset
    (fx.root / "captions.pickle").rename(fx.root / "captions_DAMSM.pickle")
    assert find_captions_pickle(fx.root) == fx.root / "captions_DAMSM.pickle"
    found = dataset_vocabulary("cub", fx.root)
    assert found.vocabulary.itos == expected and found.source.endswith("captions_DAMSM.pickle")
    assert CUBDataset(fx.root, "train", base_size=8, num_scales=1).captions_file == "captions_DAMSM.pickle"
    with pytest.raises(FileNotFoundError, match="captions_file"):
        CUBDataset(fx.root, "train", base_size=8, num_scales=1, captions_file="captions.pickle")
    # no pickle: built from text/, train then test as the official builder (same order as the fixture's)
    (fx.root / "captions_DAMSM.pickle").unlink()
    found = dataset_vocabulary("cub", fx.root)
    assert found.vocabulary.itos == expected and "text/" in found.source


def test_vocabulary_for_config_rules(tmp_path, attngan_factory, make_image):
    fx = attngan_factory(tmp_path / "coco", "coco", with_class_info=False)
    config = resolve_config("coco256", {"data.root": str(fx.root)})
    assert vocabulary_for_config(config).vocabulary.itos[1] == fx.ixtoword[1]
    assert vocabulary_for_config(resolve_config("coco256")) is None  # no data folder: token ids only
    assert vocabulary_for_config(resolve_config("tiny64")).vocabulary == shapes_vocabulary()
    assert vocabulary_for_config(resolve_config("ffgan_clip", {"data.root": str(fx.root)})) is None  # own tokenizer
    # an explicit vocabulary wins over the dataset's
    pinned = tmp_path / "pinned.json"
    Vocabulary(["<end>", "only", "these"]).save(pinned)
    explicit = resolve_config("coco256", {"data.root": str(fx.root), "text.vocabulary": str(pinned)})
    assert vocabulary_for_config(explicit).vocabulary.itos == ["<end>", "only", "these"]
    # the vocabulary.json saved next to pre-trained text weights wins over the dataset's
    weights = tmp_path / "damsm" / "text_encoder.safetensors"
    weights.parent.mkdir()
    Vocabulary(["<end>", "saved", "with", "weights"]).save(weights.parent / "vocabulary.json")
    with_weights = resolve_config("coco256", {"data.root": str(fx.root), "text.weights": str(weights)})
    assert explicit_vocabulary(with_weights).vocabulary.itos[1] == "saved"


def test_builder_and_dataset_use_the_folders_vocabulary(tmp_path, make_image):
    root = _folder(tmp_path / "f", make_image, CAT_CAPTIONS)
    config = resolve_config("tiny64", {**SMALL, "data.dataset": "folder", "data.root": str(root)})
    gan = build_ffgan(config)
    data = build_dataset(config)
    assert gan.text_encoder.vocabulary == data.vocabulary == dataset_vocabulary("folder", root).vocabulary
    assert gan.provenance["vocabulary"]["size"] == len(data.vocabulary)
    item = data[0]
    assert item["tokens"][: item["length"]].tolist() == data.vocabulary.encode(item["caption"])


def test_official_preset_takes_the_pickle_vocabulary_size(tmp_path, attngan_factory):
    """cub256 says vocab_size 5450, but a dataset with its own captions.pickle decides (no --set needed)."""
    fx = attngan_factory(tmp_path / "birds", "cub")
    gan = build_ffgan("cub256", **{"data.root": str(fx.root), "image.encoder": None, "model.num_stages": 1,
                                   "model.image_size": 64})
    assert gan.text_encoder.vocab_size == len(fx.ixtoword)
    assert gan.text_encoder(["the bird is blue"]).words.shape[1] == 4
    assert build_ffgan("cub256", **{"image.encoder": None}).text_encoder.vocab_size == 5450  # token ids only


def test_dataset_captions_spreads_over_the_dataset(tmp_path, attngan_factory):
    fx = attngan_factory(tmp_path / "coco", "coco", n_train=6, with_class_info=False)
    data = COCODataset(fx.root, "train", base_size=8, num_scales=1)
    assert dataset_captions(data) == [c for k in fx.train_keys for c in fx.captions[k]]
    assert len(dataset_captions(data, limit=4)) < len(fx.train_keys) * 2


def test_trainer_refuses_a_vocabulary_that_does_not_cover_the_captions(tmp_path, make_image):
    from fusionblocks.text import VocabularyCoverageError
    from fusionblocks.train import Trainer, TrainerConfig

    root = _folder(tmp_path / "f", make_image, CAT_CAPTIONS)
    gan = build_ffgan("tiny64", **SMALL)  # the CaptionedShapes vocabulary: no 'cat', 'photo', 'boat'
    with pytest.raises(VocabularyCoverageError, match="'cat'"):
        Trainer(gan, CaptionFolder(root, base_size=32, num_scales=2), tmp_path / "run",
                TrainerConfig(steps=1, batch_size=2, progress=False))
    assert not (tmp_path / "run").exists()
