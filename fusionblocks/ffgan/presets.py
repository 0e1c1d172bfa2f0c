"""Preset configurations, registered as models (kind ``"model"``): ``build("cub256")``, ``build_ffgan("tiny64")``.

- ``cub256`` / ``coco256``: the official FF-GAN configs ([FF-GAN: presets][ffgan-presets]): 3 stages 64²→256²,
  ngf 64, ndf 32, z 100, ncf 100, R_NUM 2 / 3, words 18 / 12, batch 4 / 16, λ 5 / 50, γ 4/5/10, Adam 2e-4
  β(0.5, 0.999), EMA 0.999, **unmasked** word attention and CA sampling at inference as in the official code;
- ``tiny64``: a CPU-sized FF-GAN on CaptionedShapes: 2 stages 32²→64², small BiLSTM, ``image.small_cnn``;
- ``attngan``: AttnGAN-style stages (masked word attention, concat), ngf 32, ndf 64;
- ``ffgan_clip``: FF-GAN with an open_clip text encoder; widths follow the encoder;
- ``dfgan``: DF-GAN 2022: single stage, DFBlocks, hinge + MA-GP;
- ``dfgan_ffblock``: DF-GAN generator with FF-Blocks after the 64² and 128² blocks.

Add your own with [`register_preset`][fusionblocks.ffgan.presets.register_preset].
"""

from __future__ import annotations

from typing import Any, Callable

from ..recipes import DFGANRecipe
from ..registry import register
from .builder import build_ffgan
from .config import DataConfig, FFGANConfig, ImageConfig, ModelConfig, TextConfig, TrainConfig
from .preset_lookup import preset_config

__all__ = ["PRESETS", "register_preset", "preset_config"]

PRESETS: dict[str, Callable[[], FFGANConfig]] = {}


def register_preset(name: str, config_fn: Callable[[], FFGANConfig] | None = None, **meta: Any) -> Any:
    """Register a preset: a function returning an [`FFGANConfig`][fusionblocks.ffgan.config.FFGANConfig], built through
    the model registry.

    Usable as a decorator. ``create("model", name, **overrides)`` / ``build(name)`` / ``build_ffgan(name)`` then
    build it.
    """

    def _add(fn: Callable[[], FFGANConfig]) -> Callable[[], FFGANConfig]:
        def factory(**overrides: Any) -> Any:
            return build_ffgan(fn(), **overrides)

        factory.__name__ = f"build_{name}"
        factory.__doc__ = (
            f"Build the {name!r} preset (overrides as in [`build_ffgan`][fusionblocks.ffgan.builder.build_ffgan])."
            f"\n\n{fn.__doc__ or ''}"
        )
        register("model", name, factory, config=fn, **meta)
        PRESETS[name] = fn
        return fn

    return _add if config_fn is None else _add(config_fn)


def _official(
    name: str, *, res_blocks: int, vocab_size: int, max_words: int, batch_size: int, damsm_lambda: float,
    epochs: int, dataset: str, captions_per_image: int,
) -> FFGANConfig:
    """The official FF-GAN configuration shared by ``cub256`` and ``coco256`` ([FF-GAN: presets][ffgan-presets]):
    unmasked word
    attention and CA sampling at inference as in the released code, DAMSM Inception image encoder."""
    return FFGANConfig(
        name=name,
        model=ModelConfig(mask_padding=False, ca_sample_in_eval=True, res_blocks=res_blocks),
        text=TextConfig(vocab_size=vocab_size, max_words=max_words),
        image=ImageConfig(encoder="image.damsm_inception"),
        train=TrainConfig(batch_size=batch_size, damsm_lambda=damsm_lambda, epochs=epochs),
        data=DataConfig(dataset=dataset, captions_per_image=captions_per_image),
    )


@register_preset("cub256", paper="arXiv 2302.08706 (FF-GAN), bird_DMGAN.yml")
def cub256() -> FFGANConfig:
    """Official FF-GAN on CUB-200 (``bird_DMGAN.yml``)."""
    return _official(
        "cub256", res_blocks=2, vocab_size=5450, max_words=18, batch_size=4, damsm_lambda=5.0, epochs=800,
        dataset="cub", captions_per_image=10,
    )


@register_preset("coco256", paper="arXiv 2302.08706 (FF-GAN), coco_DMGAN.yml")
def coco256() -> FFGANConfig:
    """Official FF-GAN on COCO-2014 (``coco_DMGAN.yml``)."""
    return _official(
        "coco256", res_blocks=3, vocab_size=27297, max_words=12, batch_size=16, damsm_lambda=50.0, epochs=200,
        dataset="coco", captions_per_image=5,
    )


@register_preset("tiny64", paper="fusionblocks CPU demo")
def tiny64() -> FFGANConfig:
    """FF-GAN small enough to train on two CPU cores: CaptionedShapes, 32²→64², masked word attention."""
    return FFGANConfig(
        name="tiny64",
        model=ModelConfig(
            image_size=64, num_stages=2, ngf=32, ndf=16, z_dim=32, cond_dim=32, res_blocks=1, mask_padding=True
        ),
        text=TextConfig(
            vocab_size=None, vocabulary=None, embedding_dim=32, hidden_dim=64, max_words=16, dropout=0.0
        ),
        image=ImageConfig(
            encoder="image.small_cnn", kwargs={"image_size": 64, "region_size": 8, "channels": [16, 32, 64]}
        ),
        train=TrainConfig(
            batch_size=16, damsm_lambda=1.0, steps=2000, log_every=20, sample_every=200, checkpoint_every=500
        ),
        data=DataConfig(dataset="captioned_shapes", root=None, captions_per_image=5, num_workers=0),
    )


@register_preset("attngan", paper="AttnGAN, arXiv 1711.10485 (bird_attn2.yml sizes)")
def attngan() -> FFGANConfig:
    """AttnGAN-style generator (masked word attention, ``[h ; context]``) with FF-GAN's SN discriminators."""
    return FFGANConfig(
        name="attngan",
        model=ModelConfig(
            ngf=32, ndf=64, res_blocks=2, stage_fusion="attngan.stage_fusion", mask_padding=True, ca_sample_in_eval=True
        ),
        text=TextConfig(vocab_size=5450, max_words=18),
        train=TrainConfig(batch_size=20, damsm_lambda=5.0, epochs=600),
        data=DataConfig(dataset="cub", captions_per_image=10),
    )


@register_preset("ffgan_clip", paper="arXiv 2302.08706 (FF-GAN) + CLIP")
def ffgan_clip() -> FFGANConfig:
    """FF-GAN with an open_clip text encoder (ViT-B-32); fusion and DAMSM widths follow the encoder."""
    return FFGANConfig(
        name="ffgan_clip",
        model=ModelConfig(mask_padding=True),
        text=TextConfig(encoder="text.clip", clip_model="ViT-B-32", vocab_size=None, max_words=77),
        image=ImageConfig(encoder="image.damsm_inception", embed_dim=None),
        train=TrainConfig(batch_size=16, damsm_lambda=5.0, epochs=600),
        data=DataConfig(dataset="cub", captions_per_image=10),
    )


def _dfgan_train() -> TrainConfig:
    """DF-GAN's training settings: the recipe's own optimiser defaults, no DAMSM or KL term, 1301 epochs."""
    return TrainConfig(
        recipe="dfgan", batch_size=32, lr_g=DFGANRecipe.lr_g, lr_d=DFGANRecipe.lr_d, betas=list(DFGANRecipe.betas),
        ema_decay=DFGANRecipe.ema_decay, damsm_lambda=0.0, kl_weight=0.0, epochs=1301,
    )


@register_preset("dfgan", paper="DF-GAN (CVPR 2022)")
def dfgan() -> FFGANConfig:
    """DF-GAN 2022 (``NetG``/``NetD``+``NetC``, nf 32, 256²), hinge + MA-GP, DAMSM sentence only."""
    return FFGANConfig(
        name="dfgan",
        model=ModelConfig(arch="dfgan", image_size=256, num_stages=1, ngf=32, ndf=32, init="default"),
        text=TextConfig(vocab_size=5450, max_words=18),
        image=ImageConfig(encoder=None),
        train=_dfgan_train(),
        data=DataConfig(dataset="cub", captions_per_image=10),
    )


@register_preset("dfgan_ffblock", paper="DF-GAN + FF-GAN FF-Block")
def dfgan_ffblock() -> FFGANConfig:
    """DF-GAN's single-stage generator with FF-Blocks (masked word attention) after its 64² and 128² blocks."""
    config = dfgan()
    config.name = "dfgan_ffblock"
    config.model.ffblock_resolutions = [64, 128]
    config.model.mask_padding = True
    return config
