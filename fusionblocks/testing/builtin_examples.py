"""Conformance examples of the built-in text encoders, image encoders, losses, generators, discriminators and
models (layers carry theirs in ``register(..., example=)``). Plugin components pass ``example=`` when they register;
presets registered with ``register_preset`` get
[`preset_example`][fusionblocks.testing.builtin_examples.preset_example] automatically."""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable

import torch

from ..ffgan import build_ffgan, preset_config
from ..image import DAMSMImageEncoder, SmallImageEncoder
from ..recipes import TrainBatch
from ..registry import create
from ..text import CLIPTextEncoder, DAMSMTextEncoder, Vocabulary
from ..train.smoke import smoke_overrides
from .example import ComponentExample

__all__ = ["BUILTIN_EXAMPLES", "preset_example", "example_captions"]

_CAPTIONS = [
    "a large red circle on the left",
    "a small blue square",
    "a green triangle above a yellow circle",
    "a tiny cyan square in the corner",
]


def example_captions(batch_size: int) -> list[str]:
    """``batch_size`` short captions (cycled)."""
    return [_CAPTIONS[i % len(_CAPTIONS)] for i in range(batch_size)]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------------------------- text encoders
def damsm_bilstm(batch_size: int) -> ComponentExample:
    """A small DAMSM BiLSTM over the example captions' vocabulary."""
    torch.manual_seed(0)
    captions = example_captions(batch_size)
    encoder = DAMSMTextEncoder(vocabulary=Vocabulary.build(_CAPTIONS), embedding_dim=8, hidden_dim=16, max_words=12)
    return ComponentExample(module=encoder, args=(captions,))


@functools.lru_cache(maxsize=1)
def _clip_prototype() -> Any:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return CLIPTextEncoder("ViT-B-32", pretrained=None, word_dim=32, context_length=16)


def clip_text(batch_size: int) -> ComponentExample:
    """A random-weight open_clip ViT-B-32 text tower (nothing downloaded), 16-token context, words to 32 (a fresh
    copy of one prototype per call: building the model takes seconds)."""
    return ComponentExample(module=copy.deepcopy(_clip_prototype()), args=(example_captions(batch_size),))


# ---------------------------------------------------------------------------------------------- image encoders
def _images(batch_size: int, size: int) -> torch.Tensor:
    return torch.rand(batch_size, 3, size, size, generator=_gen(1)) * 2 - 1


def small_cnn(batch_size: int) -> ComponentExample:
    """The small CNN at 32², regions 8², width 16."""
    torch.manual_seed(0)
    encoder = SmallImageEncoder(embed_dim=16, image_size=32, region_size=8, channels=(8, 16, 16))
    return ComponentExample(module=encoder, args=(_images(batch_size, 32),))


def damsm_inception(batch_size: int) -> ComponentExample:
    """The DAMSM Inception-v3 encoder with random weights (inputs are resized to 299² inside)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        encoder = DAMSMImageEncoder(embed_dim=16)
    return ComponentExample(module=encoder, args=(_images(batch_size, 32),), bf16_atol=0.1)


# ---------------------------------------------------------------------------------------------- losses
def _leaf(*shape: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(*shape, generator=_gen(seed)) * scale).requires_grad_(True)


def _loss(cls_path: str, **kwargs: Any) -> Any:
    return create("loss", cls_path, **kwargs)


def bce_stage_d(batch_size: int) -> ComponentExample:
    b = batch_size
    return ComponentExample(_loss("loss.bce_stage_d"),
                            (_leaf(b, seed=1), _leaf(b, seed=2), _leaf(max(b - 1, 0), seed=3), _leaf(b, seed=4),
                             _leaf(b, seed=5)))


def bce_stage_g(batch_size: int) -> ComponentExample:
    return ComponentExample(_loss("loss.bce_stage_g"), (_leaf(batch_size, seed=1), _leaf(batch_size, seed=2)))


def hinge_d(batch_size: int) -> ComponentExample:
    b = batch_size
    return ComponentExample(_loss("loss.hinge_d"), (_leaf(b, seed=1), _leaf(b, seed=2), _leaf(b, seed=3)))


def hinge_g(batch_size: int) -> ComponentExample:
    return ComponentExample(_loss("loss.hinge_g"), (_leaf(batch_size, seed=1),))


def kl_ca(batch_size: int) -> ComponentExample:
    mu, logvar = _leaf(batch_size, 8, seed=1), _leaf(batch_size, 8, seed=2, scale=0.1)
    return ComponentExample(_loss("loss.kl_ca"), (mu, logvar))


def damsm_words(batch_size: int) -> ComponentExample:
    b, t = batch_size, 5
    mask = torch.arange(t)[None, :] < torch.tensor([t - i % 3 for i in range(b)])[:, None]
    return ComponentExample(_loss("loss.damsm_words"), (_leaf(b, 8, 4, 4, seed=1), _leaf(b, t, 8, seed=2), mask))


def damsm_sentence(batch_size: int) -> ComponentExample:
    return ComponentExample(_loss("loss.damsm_sentence"), (_leaf(batch_size, 8, seed=1), _leaf(batch_size, 8, seed=2)))


def ma_gp(batch_size: int) -> ComponentExample:
    """MA-GP of a small differentiable "discriminator" of (images, sentence)."""
    images, sentence = _leaf(batch_size, 3, 4, 4, seed=1), _leaf(batch_size, 6, seed=2)
    weights = torch.randn(3 * 16, generator=_gen(3))
    outputs = torch.tanh(images.flatten(1) @ weights) * sentence.pow(2).sum(1).sqrt()
    return ComponentExample(_loss("loss.ma_gp"), (outputs, [images, sentence]))


# ---------------------------------------------------------------------------------------------- generators
def _text_inputs(batch_size: int, sentence_dim: int, word_dim: int, words: int = 5) -> tuple[torch.Tensor, ...]:
    sentence = torch.randn(batch_size, sentence_dim, generator=_gen(2))
    word_features = torch.randn(batch_size, words, word_dim, generator=_gen(3))
    mask = torch.arange(words)[None, :] < torch.tensor([words - i % 3 for i in range(batch_size)])[:, None]
    return sentence, word_features, mask


def stacked_generator(batch_size: int) -> ComponentExample:
    """Two stages 8² → 16² with FF-GAN stage fusion."""
    torch.manual_seed(0)
    g = create("generator", "stacked", z_dim=8, sentence_dim=12, word_dim=10, ngf=4, cond_dim=6, base_size=8,
               num_stages=2, res_blocks=1)
    z = torch.randn(batch_size, 8, generator=_gen(1))
    return ComponentExample(g, (z, *_text_inputs(batch_size, 12, 10)))


def df_generator(batch_size: int) -> ComponentExample:
    """DF-GAN at 16² with an FF-Block after the 8² block."""
    torch.manual_seed(0)
    g = create("generator", "dfgan", nf=4, z_dim=8, sentence_dim=12, image_size=16, word_dim=10,
               ffblock_resolutions=[8])
    z = torch.randn(batch_size, 8, generator=_gen(1))
    return ComponentExample(g, (z, *_text_inputs(batch_size, 12, 10)))


# ---------------------------------------------------------------------------------------------- discriminators
def stage_discriminator(batch_size: int) -> ComponentExample:
    torch.manual_seed(0)
    d = create("discriminator", "stage", image_size=16, ndf=4, sentence_dim=12)
    return ComponentExample(d, (_images(batch_size, 16), torch.randn(batch_size, 12, generator=_gen(2))))


def df_discriminator(batch_size: int) -> ComponentExample:
    torch.manual_seed(0)
    d = create("discriminator", "dfgan", nf=4, sentence_dim=12, image_size=16)
    return ComponentExample(d, (_images(batch_size, 16), torch.randn(batch_size, 12, generator=_gen(2))))


# ---------------------------------------------------------------------------------------------- models
def preset_example(name: str) -> Callable[[int], ComponentExample]:
    """The example of a registered preset: the preset shrunk by
    [`smoke_overrides`][fusionblocks.train.smoke.smoke_overrides] (same stages, fusion and recipe; tiny widths, a
    small DAMSM text encoder), with a batch of random reals at its output sizes."""

    def factory(batch_size: int) -> ComponentExample:
        torch.manual_seed(0)
        gan = build_ffgan(name, **smoke_overrides(preset_config(name)))
        images = [torch.rand(batch_size, 3, s, s, generator=_gen(1)) * 2 - 1 for s in gan.image_sizes]
        batch = TrainBatch(images=images, captions=example_captions(batch_size),
                           class_ids=torch.arange(batch_size))
        return ComponentExample(module=gan, args=(batch,))

    return factory


BUILTIN_EXAMPLES: dict[tuple[str, str], Callable[[int], ComponentExample]] = {
    ("text_encoder", "text.damsm_bilstm"): damsm_bilstm,
    ("text_encoder", "text.clip"): clip_text,
    ("image_encoder", "image.small_cnn"): small_cnn,
    ("image_encoder", "image.damsm_inception"): damsm_inception,
    ("loss", "loss.bce_stage_d"): bce_stage_d,
    ("loss", "loss.bce_stage_g"): bce_stage_g,
    ("loss", "loss.hinge_d"): hinge_d,
    ("loss", "loss.hinge_g"): hinge_g,
    ("loss", "loss.kl_ca"): kl_ca,
    ("loss", "loss.damsm_words"): damsm_words,
    ("loss", "loss.damsm_sentence"): damsm_sentence,
    ("loss", "loss.ma_gp"): ma_gp,
    ("generator", "stacked"): stacked_generator,
    ("generator", "dfgan"): df_generator,
    ("discriminator", "stage"): stage_discriminator,
    ("discriminator", "dfgan"): df_discriminator,
}
