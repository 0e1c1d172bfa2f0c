"""Shared, expensive metric fixtures: built once per test session (per xdist worker)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def random_inception():
    """A random-weight Inception extractor (the only way to run Inception offline in tests)."""
    from fusionblocks.metrics import InceptionFeatureExtractor

    return InceptionFeatureExtractor(allow_random_weights=True, random_seed=0)


@pytest.fixture(scope="session")
def clip_scorer():
    from fusionblocks.metrics import CLIPScorer

    return CLIPScorer("ViT-B-32", pretrained=None, allow_random_weights=True)


@pytest.fixture(scope="session")
def shape_classifier_file(tmp_path_factory):
    """Train the judge's shape classifier once (seconds) and cache it to a file."""
    from fusionblocks.metrics import load_or_train_shape_classifier

    path = tmp_path_factory.mktemp("judge") / "shape_classifier.safetensors"
    model, report = load_or_train_shape_classifier(path)
    return path, model, report


@pytest.fixture(scope="session")
def attribute_judge(shape_classifier_file):
    from fusionblocks.metrics import AttributeJudge

    _, model, report = shape_classifier_file
    return AttributeJudge(model, report, self_check_images=60)


@pytest.fixture(scope="session")
def real_shapes():
    """Rendered CaptionedShapes test images (64², one or two objects) with one caption each."""
    from fusionblocks.data import CaptionedShapes

    ds = CaptionedShapes(size=80, resolution=64, split="test", seed=11, max_objects=2, captions_per_image=2)
    images = torch.stack([ds.render(i) for i in range(len(ds))])
    captions = [ds.captions(i)[1] for i in range(len(ds))]
    return ds, images, captions
