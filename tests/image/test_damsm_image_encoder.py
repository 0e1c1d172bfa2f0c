"""DAMSMImageEncoder: official CNN_ENCODER keys load and compute the official layer-by-layer forward (docs/ffgan.md
"DAMSM encoders").

Inception-v3 on CPU is heavy (~6 GFLOP per image at 299²): every forward here uses batch 1, and the encoder and the
torchvision reference are built once per module.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from fusionblocks import create
from fusionblocks.image import (
    DAMSMImageEncoder,
    convert_damsm_image_state_dict,
    load_damsm_image_encoder,
)

E = 256


@pytest.fixture(scope="module")
def torchvision_inception():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # random BN statistics/affines so that every BN layer matters
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


@pytest.fixture(scope="module")
def official_state(torchvision_inception) -> dict[str, torch.Tensor]:
    """A state dict with exactly the official CNN_ENCODER keys and shapes (torchvision names + projections)."""
    g = torch.Generator().manual_seed(2)
    state = {k: v.clone() for k, v in torchvision_inception.state_dict().items() if not k.startswith("fc.")}
    state["emb_features.weight"] = torch.rand(E, 768, 1, 1, generator=g) * 0.2 - 0.1
    state["emb_cnn_code.weight"] = torch.rand(E, 2048, generator=g) * 0.2 - 0.1
    state["emb_cnn_code.bias"] = torch.randn(E, generator=g) * 0.01
    return state


@pytest.fixture(scope="module")
def encoder(official_state, tmp_path_factory) -> DAMSMImageEncoder:
    path = tmp_path_factory.mktemp("damsm") / "image_encoder200.pth"
    torch.save(official_state, path)
    return load_damsm_image_encoder(path, align_corners=True, freeze=False)


def official_forward(tv, state: dict, images: torch.Tensor, align_corners: bool = True):
    """The official CNN_ENCODER forward: torchvision Inception3 layers called one by one (docs/ffgan.md "DAMSM
    encoders")."""
    x = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=align_corners)
    for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"):
        x = getattr(tv, name)(x)
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    x = tv.Conv2d_4a_3x3(tv.Conv2d_3b_1x1(x))
    x = F.max_pool2d(x, kernel_size=3, stride=2)
    for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
        x = getattr(tv, name)(x)
    features = F.conv2d(x, state["emb_features.weight"])  # region features (B, E, 17, 17)
    for name in ("Mixed_7a", "Mixed_7b", "Mixed_7c"):
        x = getattr(tv, name)(x)
    x = F.avg_pool2d(x, kernel_size=8).view(x.size(0), -1)
    code = F.linear(x, state["emb_cnn_code.weight"], state["emb_cnn_code.bias"])
    return features, code


def test_official_keys_are_what_we_convert(official_state) -> None:
    assert len(official_state) == 564 + 3  # torchvision Inception3 without fc, plus the two projections
    converted = convert_damsm_image_state_dict(official_state)
    assert "backbone.Mixed_5b.branch1x1.bn.running_mean" in converted
    assert converted["region_proj.weight"] is official_state["emb_features.weight"]
    assert converted["code_proj.bias"] is official_state["emb_cnn_code.bias"]
    assert sum(k.startswith("backbone.") for k in converted) == 564


def test_matches_official_forward(encoder, official_state, torchvision_inception) -> None:
    images = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(3)) * 2 - 1
    with torch.no_grad():
        regions, code = encoder(images)
        ref_regions, ref_code = official_forward(torchvision_inception, official_state, images)
    assert regions.shape == (1, E, 17, 17) and code.shape == (1, E)
    assert ref_regions.abs().max() > 0.1 and ref_code.abs().max() > 0.1  # non-degenerate outputs
    # Same weights and kernels: regions agree exactly in practice; the code differs only by mean vs avg_pool2d.
    torch.testing.assert_close(regions, ref_regions, atol=1e-5, rtol=0)
    torch.testing.assert_close(code, ref_code, atol=1e-5, rtol=0)


def test_parameter_counts_match_official(encoder) -> None:
    trainable = sum(p.numel() for n, p in encoder.named_parameters() if not n.startswith("backbone."))
    assert trainable == 721_152
    assert sum(p.numel() for p in encoder.backbone.parameters()) == 21_785_568


def test_frozen_backbone_stays_eval_and_passes_gradients(encoder) -> None:
    encoder.train()
    assert encoder.training and encoder.region_proj.training and not encoder.backbone.training
    assert all(not p.requires_grad for p in encoder.backbone.parameters())
    bn = encoder.backbone.Mixed_6e.branch1x1.bn
    before = bn.running_mean.clone()
    images = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
    regions, code = encoder(images)
    (regions.mean() + code.mean()).backward()
    assert torch.equal(bn.running_mean, before)  # no BN statistics drift in train mode (an official-code slip)
    assert images.grad is not None and images.grad.abs().sum() > 0  # the DAMSM loss reaches generated images
    assert encoder.region_proj.weight.grad is not None and encoder.code_proj.weight.grad is not None
    encoder.zero_grad(set_to_none=True)


@pytest.mark.parametrize("align_corners", [True, False])
def test_resize_uses_align_corners(encoder, align_corners: bool) -> None:
    captured = []

    class _Stop(Exception):
        pass

    def grab(_module, args):
        captured.append(args[0])
        raise _Stop  # no need to run the backbone

    handle = encoder.backbone.register_forward_pre_hook(grab)
    old = encoder.align_corners
    encoder.align_corners = align_corners
    try:
        images = torch.rand(1, 3, 16, 16) * 2 - 1
        with pytest.raises(_Stop):
            encoder(images)
    finally:
        handle.remove()
        encoder.align_corners = old
    expected = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=align_corners)
    torch.testing.assert_close(captured[0], expected, atol=0, rtol=0)


def test_weights_and_backbone_weights_arguments(encoder, torchvision_inception, official_state) -> None:
    imagenet = torchvision_inception.state_dict()  # ImageNet-style classifier weights, fc included
    projections = {k: v for k, v in official_state.items() if k.startswith("emb_")}
    # projection-only weights on top of an ImageNet backbone file = the full official weights
    built = create("image_encoder", "image.damsm_inception", weights=projections, backbone_weights=imagenet)
    assert not built.backbone.training
    ours, reference = built.state_dict(), encoder.state_dict()
    assert ours.keys() == reference.keys()
    assert all(torch.equal(ours[k], v) for k, v in reference.items() if not k.endswith("num_batches_tracked"))
    built.freeze().train()
    assert not built.training and not built.region_proj.training and not built.backbone.training
    assert all(not p.requires_grad for p in built.parameters())
    built.unfreeze().train()
    assert built.region_proj.training and built.code_proj.weight.requires_grad and not built.backbone.training
    with pytest.raises(ValueError, match="weights: do not fit"):
        DAMSMImageEncoder(weights=projections)  # no backbone anywhere


def test_read_weights_formats(tmp_path) -> None:
    from safetensors.torch import save_file

    from fusionblocks.state_dict_io import read_state_dict

    state = {"region_proj.weight": torch.randn(4, 768, 1, 1), "code_proj.bias": torch.randn(4)}
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, tmp_path / "w.pth")
    for name in ("w.safetensors", "w.pth"):
        loaded = read_state_dict(tmp_path / name, "weights")
        assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)


def test_old_checkpoints_without_bn_counters(official_state) -> None:
    old = {k: v for k, v in official_state.items() if not k.endswith("num_batches_tracked")}
    converted = convert_damsm_image_state_dict(old)
    assert converted.keys() == convert_damsm_image_state_dict(official_state).keys()


def test_bad_weights_and_inputs(encoder, official_state) -> None:
    with pytest.raises(ValueError, match="unexpected"):
        convert_damsm_image_state_dict({**official_state, "fc.weight": torch.zeros(1000, 2048)})
    with pytest.raises(ValueError, match="backbone_weights"):
        encoder.load_backbone_weights({"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 3, 3)})
    with pytest.raises(ValueError, match="images"):
        encoder(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="images"):
        encoder(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="embed_dim"):
        DAMSMImageEncoder(embed_dim=0)
    with pytest.raises(FileNotFoundError, match="path_or_state_dict"):
        load_damsm_image_encoder("/nonexistent/image_encoder200.pth")


def test_weights_lacking_one_backbone_tensor_are_refused(torchvision_inception, official_state) -> None:
    """Given weights, the backbone is built without memory of its own (meta device, then empty storage), so every
    tensor must come from the weights: one missing entry is an error naming it, never uninitialised memory."""
    imagenet = torchvision_inception.state_dict()
    projections = {k: v for k, v in official_state.items() if k.startswith("emb_")}
    for dropped in ("Mixed_6e.branch_pool.bn.running_var", "Conv2d_1a_3x3.conv.weight"):
        with pytest.raises(ValueError, match=rf"backbone_weights: .*{re.escape(dropped)}"):
            DAMSMImageEncoder(weights=projections, backbone_weights={k: v for k, v in imagenet.items() if k != dropped})
    whole = {k: v for k, v in official_state.items() if k != "Mixed_6e.branch_pool.bn.running_var"}
    assert len(whole) == len(official_state) - 1
    with pytest.raises(ValueError, match=r"Mixed_6e\.branch_pool\.bn\.running_var"):
        DAMSMImageEncoder(weights=whole)
