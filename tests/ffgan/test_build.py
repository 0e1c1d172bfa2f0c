"""Every preset and variant builds, has the right structure, and trains one iteration on CPU at tiny sizes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from fusionblocks import build, create, list_components
from fusionblocks.ffgan import BuiltGAN, ConfigError, build_ffgan, preset_config
from fusionblocks.ffgan.presets import PRESETS
from fusionblocks.image import DAMSMImageEncoder
from fusionblocks.models import (
    DFDiscriminator,
    DFGenerator,
    FFGANStageFusion,
    StackedGenerator,
    StageDiscriminator,
)
from fusionblocks.registry import get_registry
from fusionblocks.text import DAMSMTextEncoder
from fusionblocks.train.recipes import DFGANRecipe, FFGANRecipe

from .helpers import batch_for, tiny_overrides

FAST_PRESETS = sorted(set(PRESETS) - {"ffgan_clip"})


def test_presets_are_registered_models() -> None:
    names = set(list_components("model"))
    assert {"cub256", "coco256", "tiny64", "dfgan", "attngan", "ffgan_clip", "dfgan_ffblock"} <= names


def _snapshot(module: nn.Module | None) -> dict[str, torch.Tensor]:
    return {} if module is None else {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("name", FAST_PRESETS)
def test_each_preset_trains_one_iteration_at_tiny_size(name: str) -> None:
    gan = build_ffgan(name, **tiny_overrides(name))
    assert isinstance(gan, BuiltGAN)
    assert len(gan.discriminators) == len(gan.image_sizes) == gan.config.model.num_stages
    text_before, image_before = _snapshot(gan.text_encoder), _snapshot(gan.image_encoder)
    g_before = _snapshot(gan.generator)
    d_before = [_snapshot(d) for d in gan.discriminators]
    optimizers = gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    losses = gan.recipe.iteration(gan.train_modules(), batch_for(gan.image_sizes), optimizers)

    assert all(v.ndim == 0 and not v.requires_grad and torch.isfinite(v) for v in losses.values())
    if gan.config.train.recipe == "ffgan":
        assert {"d0", "d1", "g0", "g1", "g_adv", "damsm_w", "damsm_s", "kl", "g"} <= set(losses)
        assert isinstance(gan.recipe, FFGANRecipe)
    else:
        assert {"d0", "d_real", "d_fake", "d_mismatch", "magp", "g"} <= set(losses)
        assert isinstance(gan.recipe, DFGANRecipe)
    changed = lambda before, m: any(  # noqa: E731
        not torch.equal(before[k], v) for k, v in m.state_dict().items() if v.is_floating_point()
    )
    assert changed(g_before, gan.generator)
    assert all(changed(b, d) for b, d in zip(d_before, gan.discriminators))
    # frozen encoders: nothing changed, no gradients, eval mode
    for before, module in ((text_before, gan.text_encoder), (image_before, gan.image_encoder)):
        if module is None:
            continue
        assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
        assert all(p.grad is None and not p.requires_grad for p in module.parameters())
        assert not module.training
    # the discriminators' requires_grad flags are restored after the G step
    assert all(p.requires_grad for d in gan.discriminators for p in d.parameters())


def test_builder_structure_of_the_ffgan_presets() -> None:
    gan = build_ffgan("tiny64")
    assert isinstance(gan.generator, StackedGenerator)
    assert all(isinstance(s.fusion, FFGANStageFusion) for s in gan.generator.stages)
    assert gan.image_sizes == [32, 64]
    assert [d.image_size for d in gan.discriminators] == [32, 64]
    assert isinstance(gan.text_encoder, DAMSMTextEncoder) and gan.text_encoder.vocabulary is not None
    assert gan.image_encoder.embed_dim == gan.text_encoder.sentence_dim == gan.text_encoder.word_dim
    out = gan.generate(["a small red circle", "a large blue square above a small green triangle"])
    assert [tuple(i.shape) for i in out.images] == [(2, 3, 32, 32), (2, 3, 64, 64)]
    steps = max(len(c.split()) for c in ["a small red circle", "a large blue square above a small green triangle"])
    assert [tuple(a.shape) for a in out.attention] == [(2, steps, 32, 32)]
    assert out.mu.shape == out.logvar.shape == (2, 32)


def test_full_size_official_presets_build_with_the_official_counts() -> None:
    # counts only: no forward at 256² (default init and no Inception to keep it fast)
    for name, g_count in (("cub256", 21_840_592), ("coco256", 22_726_864)):
        gan = build_ffgan(name, model={"init": "default"}, image={"encoder": None})
        counts = gan.num_parameters()
        assert counts["generator"] == g_count
        assert counts["discriminators"] == 25_298_598
        assert [counts[f"discriminator{i}"] for i in range(3)] == [1_878_242, 5_155_810, 18_264_546]
        # spectral-norm u/v are buffers: 25,363,414 − 25,298,598 values (docs/ffgan.md "Parameter counts")
        uv = sum(b.numel() for d in gan.discriminators for n, b in d.named_buffers() if n.endswith(("_u", "_v")))
        assert uv == 25_363_414 - 25_298_598
        assert counts["text_encoder"] == {"cub256": 2_075_320, "coco256": 8_629_420}[name]
        assert gan.generator.stages[0].fusion.ffblock.attention.mask_padding is False
        assert gan.generator.ca.sample_in_eval is True


def test_cub256_builds_with_its_inception_image_encoder() -> None:
    gan = build_ffgan("cub256", model={"init": "default"})
    assert isinstance(gan.image_encoder, DAMSMImageEncoder)
    assert gan.image_encoder.embed_dim == 256 and not gan.image_encoder.training


def test_dfgan_and_attngan_counts() -> None:
    df = build_ffgan("dfgan", image={"encoder": None})
    assert isinstance(df.generator, DFGenerator) and isinstance(df.discriminators[0], DFDiscriminator)
    assert df.num_parameters()["generator"] == 9_744_131
    assert df.image_encoder is None and df.recipe.ema_decay is None
    assert df.num_parameters()["discriminators"] == 6_421_830 + 295_936
    official_d = build_ffgan("dfgan", model={"keep_unused_shortcuts": True}).discriminators[0]
    assert sum(p.numel() for p in official_d.parameters()) == 6_619_206 + 295_936
    att = build_ffgan("attngan", model={"init": "default"}, image={"encoder": None})
    assert att.num_parameters()["generator"] == 7_084_592  # AttnGAN's own G count (docs/ffgan.md "Parameter counts")


def test_official_init_is_applied_by_the_builder() -> None:
    gan = build_ffgan("tiny64")
    w = gan.generator.init_stage.fc.weight  # (rows, cols) with rows > cols: orthonormal columns
    torch.testing.assert_close(w.t() @ w, torch.eye(w.shape[1]), atol=1e-4, rtol=0)
    default = build_ffgan("tiny64", model={"init": "default"}).generator.init_stage.fc.weight
    assert not torch.allclose(default.t() @ default, torch.eye(default.shape[1]), atol=1e-2)


def test_build_accepts_names_yaml_paths_configs_and_mappings(tmp_path) -> None:
    overrides = tiny_overrides("tiny64")
    a = build("tiny64", **overrides)
    config = preset_config("tiny64").with_overrides(overrides)
    path = tmp_path / "run.yaml"
    config.to_yaml(path)
    b = build(str(path))
    c = build(config)
    d = build(config.to_dict())
    e = create("model", "tiny64", **overrides)
    for gan in (a, b, c, d, e):
        assert isinstance(gan, BuiltGAN) and gan.config == config
    assert build_ffgan(path).config == config
    with pytest.raises(KeyError, match="tiny64"):
        build("tiny46")
    with pytest.raises(ConfigError, match="model.ngff"):
        build("tiny64", model={"ngff": 3})
    with pytest.raises(TypeError, match="spec"):
        build(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"model": {"arch": "unet"}}, "model.arch"),
        ({"model": {"num_stages": 2, "arch": "dfgan"}}, "model.num_stages"),
        ({"model": {"image_size": 48}}, "model.image_size"),
        ({"train": {"recipe": "wgan"}}, "train.recipe"),
        ({"model": {"ffblock_resolutions": [32]}}, "model.ffblock_resolutions"),
        ({"image": {"embed_dim": 12}}, "image.embed_dim"),
    ],
)
def test_invalid_combinations_name_the_key(overrides, key) -> None:
    merged = tiny_overrides("tiny64")
    for section, values in overrides.items():
        merged[section] = {**merged.get(section, {}), **values}
    with pytest.raises(ConfigError, match=key):
        build_ffgan("tiny64", **merged)


class GatedFusion(nn.Module):
    """A user block following the stage-fusion protocol: sentence-gated features, no word attention map."""

    def __init__(self, channels: int, word_dim: int, sentence_dim: int, *, mask_padding: bool, gain: float = 1.0):
        super().__init__()
        self.gate = nn.Linear(sentence_dim, channels)
        self.gain = gain
        self.out_channels = 3 * channels

    def forward(self, h, words, mask, sentence, *, return_attention: bool):
        g = torch.sigmoid(self.gate(sentence))[:, :, None, None] * self.gain
        return torch.cat([h, h * g, h * (1 - g)], dim=1), None


def test_a_plugin_fusion_block_is_used_by_name() -> None:
    registry = get_registry("layer")
    registry.register("test.gated_fusion", GatedFusion)
    try:
        overrides = tiny_overrides("tiny64")
        overrides["model"].update(stage_fusion="test.gated_fusion", stage_fusion_kwargs={"gain": 0.5})
        gan = build_ffgan("tiny64", **overrides)
        fusion = gan.generator.stages[0].fusion
        assert isinstance(fusion, GatedFusion) and fusion.gain == 0.5
        assert gan.generator.stages[0].residual[0].channels == 3 * 8
        out = gan.generate(["a small red circle", "a green triangle"])
        assert out.attention == []  # the block returns no attention map
        losses = gan.recipe.iteration(
            gan.train_modules(), batch_for(gan.image_sizes), gan.recipe.build_optimizers(gan.generator, gan.discriminators)
        )
        assert torch.isfinite(losses["g"])
    finally:
        registry.unregister("test.gated_fusion")


@pytest.mark.slow
def test_ffgan_clip_widths_follow_the_encoder_and_it_trains() -> None:
    overrides = tiny_overrides("ffgan_clip")
    overrides["text"] = {"clip_model": "ViT-S-32-alt"}  # 256-d text tower, builds fast with random weights
    gan = build_ffgan("ffgan_clip", **overrides)
    assert gan.text_encoder.word_dim == gan.text_encoder.sentence_dim == 256
    assert gan.generator.stages[0].fusion.ffblock.attention.word_dim == 256
    assert gan.generator.ca.text_dim == 256
    assert gan.discriminators[0].cond_head.sentence_dim == 256
    assert gan.image_encoder.embed_dim == 256
    before = copy.deepcopy(gan.generator.state_dict())
    losses = gan.recipe.iteration(
        gan.train_modules(), batch_for(gan.image_sizes), gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    )
    assert torch.isfinite(losses["g"]) and "damsm_w" in losses
    assert any(not torch.equal(before[k], v) for k, v in gan.generator.state_dict().items())
    assert all(not p.requires_grad for p in gan.text_encoder.parameters())
