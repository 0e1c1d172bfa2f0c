"""Inception feature extractor: weights handling (nothing downloads), preprocessing, pytorch-fid blocks, and FID /
KID / IS end to end on random-weight features of a few tiny images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fusionblocks.metrics import (
    InceptionFeatureExtractor,
    fid_from_features,
    inception_score,
    kernel_inception_distance,
    load_inception_state_dict,
)
from fusionblocks.metrics.inception import _avg_pool_exclude_pad


def test_missing_weights_error_says_how_to_provide_them():
    with pytest.raises(FileNotFoundError) as info:
        InceptionFeatureExtractor()
    message = str(info.value)
    assert "weights" in message and "pt_inception-2015-12-05" in message and "allow_random_weights" in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        InceptionFeatureExtractor("/nonexistent/pt_inception.pth")
    with pytest.raises(ValueError, match="resize_filter"):
        InceptionFeatureExtractor(allow_random_weights=True, resize_filter="lanczos")


def test_random_extractor_records_itself_and_gives_pool_features_and_logits(random_inception):
    info = random_inception.description
    assert info["random_weights"] is True and info["weights"] == "random"
    assert info["input_size"] == 299 and info["resize_filter"] == "bilinear" and info["feature_dim"] == 2048
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    out = random_inception(images)
    assert out.pool.shape == (2, 2048) and out.logits.shape == (2, 1008)
    assert torch.isfinite(out.pool).all() and out.pool.std() > 0
    # eval-mode BatchNorm: features of an image do not depend on its batch
    torch.testing.assert_close(random_inception(images[:1]).pool, out.pool[:1], rtol=1e-4, atol=1e-5)
    random_inception.train()
    assert not random_inception.training and not random_inception.model.training


def test_preprocessing_maps_minus_one_one_to_inception_range(random_inception):
    images = torch.linspace(-1, 1, 3 * 8 * 8).view(1, 3, 8, 8)
    x = random_inception.preprocess(images)
    assert x.shape == (1, 3, 299, 299)
    # [-1,1] -> [0,1] -> bilinear resize -> (x-0.5)/0.5 is a bilinear resize of the input itself
    expected = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
    torch.testing.assert_close(x, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="images"):
        random_inception(torch.zeros(1, 1, 8, 8))


def test_exclude_pad_average_pool_matches_its_definition():
    x = torch.randn(2, 3, 5, 6)
    sums = F.conv2d(F.pad(x, (1, 1, 1, 1)).view(6, 1, 7, 8), torch.ones(1, 1, 3, 3)).view(2, 3, 5, 6)
    counts = F.conv2d(F.pad(torch.ones(1, 1, 5, 6), (1, 1, 1, 1)), torch.ones(1, 1, 3, 3))
    torch.testing.assert_close(_avg_pool_exclude_pad(x), sums / counts)


def test_checkpoint_files_load_and_select_the_block_variant(random_inception, tmp_path):
    images = torch.rand(1, 3, 12, 12) * 2 - 1
    reference = random_inception(images)
    # a pytorch-fid-style file: 1008 classes, no num_batches_tracked, wrapped and prefixed
    state = {f"module.{k}": v for k, v in random_inception.model.state_dict().items() if "num_batches" not in k}
    path = tmp_path / "pt_inception-test.pth"
    torch.save({"state_dict": state}, path)
    loaded = InceptionFeatureExtractor(path)
    assert loaded.fid_blocks and loaded.num_classes == 1008 and not loaded.random_weights
    assert loaded.description["weights"] == "pt_inception-test.pth"
    assert loaded.weights_fingerprint == random_inception.weights_fingerprint
    torch.testing.assert_close(loaded(images).pool, reference.pool)
    # the torchvision/timm block variant gives other features from the same weights
    plain = InceptionFeatureExtractor(state, fid_blocks=False)
    assert not plain.fid_blocks
    assert not torch.allclose(plain(images).pool, reference.pool)
    # ... and equals timm's own forward (our layer walk is the model's)
    x = plain.preprocess(images)
    timm_pool = plain.model.forward_head(plain.model.forward_features(x), pre_logits=True)
    torch.testing.assert_close(plain(images).pool, timm_pool, rtol=1e-5, atol=1e-5)


def test_given_weights_fill_every_entry_and_one_missing_entry_is_refused(random_inception):
    """With weights the network is built without memory of its own (meta device, then empty storage): every entry
    must come from the weights, so a state dict lacking a single tensor is refused rather than leaving garbage."""
    state = {k: v for k, v in random_inception.model.state_dict().items() if "num_batches" not in k}
    loaded = InceptionFeatureExtractor(state)
    for key, value in loaded.model.state_dict().items():
        expected = state.get(key, torch.zeros((), dtype=torch.long))  # BatchNorm counters start at 0
        assert torch.equal(value, expected), key
    for dropped in ("Mixed_7c.branch_pool.bn.running_var", "fc.bias", "Conv2d_1a_3x3.conv.weight"):
        with pytest.raises(ValueError, match=dropped.replace(".", r"\.")):
            InceptionFeatureExtractor({k: v for k, v in state.items() if k != dropped})


def test_torchvision_style_state_dict_with_aux_logits_is_accepted():
    state = {"AuxLogits.fc.weight": torch.zeros(1000, 768), "fc.weight": torch.zeros(1000, 2048), "x": torch.zeros(1)}
    cleaned = load_inception_state_dict(state)
    assert "AuxLogits.fc.weight" not in cleaned and "fc.weight" in cleaned
    with pytest.raises(ValueError, match="fc.weight"):
        load_inception_state_dict({"conv.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="weights"):
        InceptionFeatureExtractor({"fc.weight": torch.zeros(1000, 2048)})  # most keys missing


def test_fid_kid_is_end_to_end_on_random_weight_features(random_inception, real_shapes):
    _, images, _ = real_shapes
    real = F.interpolate(images[:4], size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    noise = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = random_inception(torch.cat([real, noise]))  # 8 tiny images in total
    f_real, f_noise = out.pool[:4].double().numpy(), out.pool[4:].double().numpy()
    assert fid_from_features(f_real, f_real) == pytest.approx(0.0, abs=1e-6)
    assert fid_from_features(f_real, f_noise) > 1e-3
    kid_cross = kernel_inception_distance(f_real, f_noise, num_subsets=5, subset_size=4)
    kid_self = kernel_inception_distance(f_real, f_real, num_subsets=5, subset_size=4)
    assert kid_cross.mean > kid_self.mean
    score = inception_score(out.logits, splits=2)
    assert 1.0 <= score.mean <= 1008.0 and np.isfinite(score.std)
