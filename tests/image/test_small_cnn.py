"""SmallImageEncoder: DAMSM image-encoder contract at tiny sizes."""

from __future__ import annotations

import pytest
import torch

from fusionblocks import create
from fusionblocks.image import SmallImageEncoder


@pytest.mark.parametrize("image_size, region_size, input_size", [(32, 8, 32), (64, 8, 64), (64, 8, 32), (32, 4, 48)])
def test_shapes(image_size: int, region_size: int, input_size: int) -> None:
    enc = SmallImageEncoder(embed_dim=16, image_size=image_size, region_size=region_size, channels=(8, 8, 16, 16))
    regions, code = enc(torch.rand(2, 3, input_size, input_size) * 2 - 1)
    assert regions.shape == (2, 16, region_size, region_size) and code.shape == (2, 16)
    assert enc.embed_dim == 16


def test_batch_independence_and_gradients() -> None:
    enc = SmallImageEncoder(embed_dim=8, image_size=32, channels=(8, 8, 8))
    images = torch.rand(3, 3, 32, 32, requires_grad=True)
    regions, code = enc(images)
    alone = enc(images[1:2])
    torch.testing.assert_close(alone[0], regions[1:2], atol=1e-5, rtol=1e-5)  # GroupNorm: no batch coupling
    torch.testing.assert_close(alone[1], code[1:2], atol=1e-5, rtol=1e-5)
    # the global code is the Linear of the average-pooled last stage
    h = enc.features(images)
    torch.testing.assert_close(code, enc.code_proj(h.mean((2, 3))))
    (regions.sum() + code.sum()).backward()
    assert images.grad is not None and all(p.grad is not None for p in enc.parameters())


def test_freeze_and_registry() -> None:
    enc = create("image_encoder", "image.small_cnn", embed_dim=8, image_size=32, channels=(8, 8))
    enc.freeze().train()
    assert all(not p.requires_grad for p in enc.parameters()) and not enc.training
    enc.unfreeze().train()
    assert all(p.requires_grad for p in enc.parameters()) and enc.training


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="image_size"):
        SmallImageEncoder(image_size=48, region_size=8)
    with pytest.raises(ValueError, match="channels"):
        SmallImageEncoder(image_size=64, region_size=4, channels=(8, 8))
    with pytest.raises(ValueError, match="channels"):
        SmallImageEncoder(channels=(8, -1, 8, 8))
    with pytest.raises(ValueError, match="embed_dim"):
        SmallImageEncoder(embed_dim=0)
    with pytest.raises(ValueError, match="code_pooling"):
        SmallImageEncoder(image_size=32, code_pooling="max")
    with pytest.raises(ValueError, match="images"):
        SmallImageEncoder(image_size=32)(torch.rand(2, 4, 32, 32))


def test_flattened_code_keeps_where_features_are() -> None:
    """``code_pooling="flatten"``: the code is the Linear of the flattened last stage; unlike the average-pooled
    code, the map from last-stage features to code is not invariant to moving the features around."""
    torch.manual_seed(0)
    enc = SmallImageEncoder(embed_dim=8, image_size=32, region_size=8, channels=(8, 8, 8), code_pooling="flatten")
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    regions, code = enc(images)
    h = enc.features(images)
    assert enc.code_proj.in_features == 8 * 8 * 8 and "code_pooling='flatten'" in repr(enc)
    torch.testing.assert_close(code, enc.code_proj(h.flatten(1)))
    mean = SmallImageEncoder(embed_dim=8, image_size=32, region_size=8, channels=(8, 8, 8))
    swapped = h.roll(shifts=4, dims=3)  # the same features, moved half the width
    torch.testing.assert_close(mean.code_proj(swapped.mean((2, 3))), mean.code_proj(h.mean((2, 3))))
    assert not torch.allclose(enc.code_proj(swapped.flatten(1)), enc.code_proj(h.flatten(1)), atol=1e-4)
    # regions are the same module either way
    assert regions.shape == (2, 8, 8, 8)
