"""The builder composes by registry: generators, discriminators, encoders, recipes and word-fusion blocks by name."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusionblocks.ffgan import ConfigError, build_ffgan
from fusionblocks.models import DiscriminatorOutput, GeneratorOutput
from fusionblocks.registry import get_registry, register

from .helpers import batch_for, tiny_overrides


class TinyGenerator(nn.Module):
    """A plugin generator built with the standard keywords: one 16² image from [z ; s]."""

    def __init__(self, z_dim: int, word_dim: int, sentence_dim: int, image_size: int, width: int = 8) -> None:
        super().__init__()
        self.z_dim, self.image_size = z_dim, image_size
        self.fc = nn.Linear(z_dim + sentence_dim, width * 16)
        self.to_rgb = nn.Conv2d(width, 3, 3, padding=1)
        self.width = width

    @property
    def image_sizes(self) -> list[int]:
        return [self.image_size]

    def forward(self, z, sentence, words, mask, *, return_attention: bool = True) -> GeneratorOutput:
        h = self.fc(torch.cat([z, sentence], 1)).view(-1, self.width, 4, 4)
        h = F.interpolate(h, size=self.image_size)
        return GeneratorOutput(images=[torch.tanh(self.to_rgb(h))])


class TinyDiscriminator(nn.Module):
    """A plugin discriminator built with the standard keywords: one conditional logit (hinge losses)."""

    def __init__(self, image_size: int, sentence_dim: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 4, 4), nn.LeakyReLU(0.2))
        self.proj = nn.Linear(sentence_dim, 8)

    def forward(self, images, sentence=None, wrong_sentence=None) -> DiscriminatorOutput:
        f = self.trunk(images)
        pooled = f.mean((2, 3))
        cond = None if sentence is None else (pooled * self.proj(sentence)).sum(1)
        wrong = None if wrong_sentence is None else (pooled * self.proj(wrong_sentence)).sum(1)
        return DiscriminatorOutput(features=f, cond=cond, uncond=None, wrong=wrong)


class GatedWordFusion(nn.Module):
    """A plugin word-fusion block for the DF-GAN trunk: h + gate(context of the words)."""

    def __init__(self, channels: int, word_dim: int, *, mask_padding: bool = True, gain: float = 1.0) -> None:
        super().__init__()
        self.key = nn.Linear(word_dim, channels, bias=False)
        self.gain = gain

    def forward(self, x, words, mask=None, return_attention: bool = False):
        logits = torch.einsum("bchw,btc->bthw", x, self.key(words))
        if mask is not None:
            logits = logits.masked_fill(~mask[:, :, None, None], float("-inf"))
        attn = logits.softmax(1)
        out = x + self.gain * torch.einsum("bthw,btc->bchw", attn, self.key(words))
        return (out, attn) if return_attention else out


@pytest.fixture
def plugins():
    names = [("generator", "test.tiny_gen"), ("discriminator", "test.tiny_disc"), ("layer", "test.word_gate")]
    register("generator", "test.tiny_gen", TinyGenerator)
    register("discriminator", "test.tiny_disc", TinyDiscriminator)
    register("layer", "test.word_gate", GatedWordFusion)
    yield
    for kind, name in names:
        get_registry(kind).unregister(name)


def _train_once(gan) -> dict[str, torch.Tensor]:
    opts = gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    return gan.recipe.iteration(gan.train_modules(), batch_for(gan.image_sizes), opts)


def test_a_plugin_generator_and_discriminator_build_and_train_by_name(plugins) -> None:
    overrides = tiny_overrides("dfgan")
    overrides["model"].update(arch="test.tiny_gen", discriminator="test.tiny_disc", generator_kwargs={"width": 4})
    gan = build_ffgan("dfgan", **overrides)
    assert isinstance(gan.generator, TinyGenerator) and gan.generator.width == 4
    assert [type(d) for d in gan.discriminators] == [TinyDiscriminator]  # one per output scale
    assert gan.image_sizes == [16]
    losses = _train_once(gan)
    assert {"d0", "magp", "g"} <= set(losses) and all(torch.isfinite(v) for v in losses.values())


def test_the_dfgan_trunk_takes_any_registered_word_fusion_block(plugins) -> None:
    overrides = tiny_overrides("dfgan_ffblock")
    overrides["model"].update(word_fusion="test.word_gate", word_fusion_kwargs={"gain": 0.5})
    gan = build_ffgan("dfgan_ffblock", **overrides)
    blocks = list(gan.generator.ffblocks.values())
    assert len(blocks) == 2 and all(isinstance(b, GatedWordFusion) and b.gain == 0.5 for b in blocks)
    out = gan.generate(["a small red circle", "a green triangle"])
    assert [tuple(a.shape[-2:]) for a in out.attention] == [(8, 8), (16, 16)]
    assert torch.isfinite(_train_once(gan)["g"])


def test_unknown_and_incomplete_components_are_config_errors_naming_the_key(plugins) -> None:
    with pytest.raises(ConfigError, match=r"model\.arch: unknown generator 'stackd'.*'stacked'"):
        build_ffgan("tiny64", **{**tiny_overrides("tiny64"), "model": {"arch": "stackd"}})
    with pytest.raises(ConfigError, match=r"train\.recipe: unknown recipe 'ffgn'"):
        build_ffgan("tiny64", **{**tiny_overrides("tiny64"), "train": {"recipe": "ffgn"}})
    overrides = tiny_overrides("dfgan")
    overrides["model"].update(arch="test.tiny_gen")  # registered without a default discriminator
    with pytest.raises(ConfigError, match=r"model\.discriminator"):
        build_ffgan("dfgan", **overrides)
    overrides = tiny_overrides("tiny64")
    overrides["text"] = {**overrides["text"], "encoder": "text.damsm_bilstmm"}
    with pytest.raises(ConfigError, match=r"text\.encoder: unknown text_encoder"):
        build_ffgan("tiny64", **overrides)


def test_every_builtin_component_is_built_through_its_registered_from_config() -> None:
    for kind, name in [("generator", "stacked"), ("generator", "dfgan"), ("discriminator", "stage"),
                       ("discriminator", "dfgan"), ("text_encoder", "text.damsm_bilstm"),
                       ("text_encoder", "text.clip"), ("image_encoder", "image.damsm_inception"),
                       ("image_encoder", "image.small_cnn")]:
        assert callable(get_registry(kind).metadata(name).get("from_config")), (kind, name)
    for name in ("ffgan", "dfgan"):
        assert callable(getattr(get_registry("recipe").get(name), "from_config", None))
    assert get_registry("generator").metadata("stacked")["discriminator"] == "stage"
