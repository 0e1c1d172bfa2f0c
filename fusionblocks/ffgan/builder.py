"""``build_ffgan`` / ``build``: a config (or preset name, or YAML path) → a
[`BuiltGAN`][fusionblocks.ffgan.builder.BuiltGAN]."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..data.dataset_vocabulary import VocabularySource, load_vocabulary, vocabulary_for_config
from ..models import DFDiscriminator, DFGenerator, StackedGenerator, StageDiscriminator, official_init
from ..registry import create, get_registry
from .config import ConfigError, FFGANConfig
from .provenance import encoder_provenance

__all__ = ["BuiltGAN", "build_ffgan", "build", "validate_config", "resolve_config"]

_ARCHS = ("stacked", "dfgan")
_RECIPES = ("ffgan", "dfgan")


@dataclass
class BuiltGAN:
    """Everything a training run or a sampler needs, built from one
    [`FFGANConfig`][fusionblocks.ffgan.config.FFGANConfig].

    Args:
        config: The configuration it was built from.
        generator: ``(z, sentence, words, mask) -> GeneratorOutput``.
        discriminators: One discriminator per generator output scale (smallest first).
        text_encoder: Frozen text encoder (``captions -> TextFeatures``).
        image_encoder: Frozen image encoder of the DAMSM loss, or None when the recipe needs none.
        recipe: The training recipe ([`FFGANRecipe`][fusionblocks.train.recipes.FFGANRecipe] or ``DFGANRecipe``).
        provenance: Where the encoders' weights (file SHA-256s) and the vocabulary came from
            ([`encoder_provenance`][fusionblocks.ffgan.provenance.encoder_provenance]); stored in checkpoints.

    Shapes:
        See [`generate`][fusionblocks.train.sampling.generate].
    """

    config: FFGANConfig
    generator: nn.Module
    discriminators: nn.ModuleList
    text_encoder: nn.Module
    image_encoder: nn.Module | None
    recipe: Any
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def image_sizes(self) -> list[int]:
        """Output resolutions of the generator, smallest first."""
        return list(self.generator.image_sizes)

    def to(self, *args: Any, **kwargs: Any) -> "BuiltGAN":
        """Move every module (like ``torch.nn.Module.to``); returns ``self``."""
        self.generator.to(*args, **kwargs)
        self.discriminators.to(*args, **kwargs)
        self.text_encoder.to(*args, **kwargs)
        if self.image_encoder is not None:
            self.image_encoder.to(*args, **kwargs)
        return self

    def train_modules(self) -> Any:
        """The modules as a [`TrainModules`][fusionblocks.train.recipes.TrainModules] (unwrapped)."""
        from ..train.recipes import TrainModules

        return TrainModules(
            generator=self.generator,
            discriminators=list(self.discriminators),
            text_encoder=self.text_encoder,
            image_encoder=self.image_encoder,
        )

    def num_parameters(self) -> dict[str, int]:
        """Parameter counts (``parameters()``; spectral-norm u/v are buffers and not counted)."""
        count = lambda m: 0 if m is None else sum(p.numel() for p in m.parameters())  # noqa: E731
        return {
            "generator": count(self.generator),
            "discriminators": count(self.discriminators),
            **{f"discriminator{i}": count(d) for i, d in enumerate(self.discriminators)},
            "text_encoder": count(self.text_encoder),
            "image_encoder": count(self.image_encoder),
        }

    @torch.no_grad()
    def generate(
        self,
        captions: Sequence[str] | torch.Tensor,
        z: torch.Tensor | None = None,
        lengths: torch.Tensor | None = None,
        generator: nn.Module | None = None,
    ) -> Any:
        """Generate images for captions in eval mode (CA sampling as configured).

        Args:
            captions: Strings, or token ids with ``lengths``.
            z: Noise (default: standard normal).
            lengths: Caption lengths for token ids.
            generator: Use this generator instead (e.g. the EMA copy).

        Shapes:
            captions ``B``; z ``(B, z_dim)`` → [`GeneratorOutput`][fusionblocks.models.outputs.GeneratorOutput].
        """
        g = generator if generator is not None else self.generator
        was_training = g.training
        g.eval()
        try:
            text = self.text_encoder(captions) if lengths is None else self.text_encoder(captions, lengths)
            if z is None:
                z = torch.randn(text.sentence.shape[0], g.z_dim, device=text.sentence.device)
            return g(z, text.sentence, text.words, text.mask)
        finally:
            g.train(was_training)


def resolve_config(spec: Any, overrides: Mapping[str, Any] | None = None) -> FFGANConfig:
    """A preset name, YAML path, mapping or [`FFGANConfig`][fusionblocks.ffgan.config.FFGANConfig] → a validated config
    with overrides applied.

    Raises:
        ConfigError: unknown keys / bad values (dotted names); KeyError: unknown preset.
    """
    from .presets import preset_config

    if isinstance(spec, FFGANConfig):
        config = FFGANConfig.from_dict(spec.to_dict())
    elif isinstance(spec, Mapping):
        config = FFGANConfig.from_dict(spec)
    elif isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if text.endswith((".yaml", ".yml")) or os.path.isfile(text):
            config = FFGANConfig.from_yaml(text)
        else:
            config = preset_config(text)
    else:
        raise TypeError(
            f"preset_or_config: expected a preset name, a YAML path, a mapping or an FFGANConfig, "
            f"got {type(spec).__name__}"
        )
    if overrides:
        config = config.with_overrides(dict(overrides))
    validate_config(config)
    return config


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def validate_config(config: FFGANConfig) -> None:
    """Cross-field checks (single fields are checked by the config sections themselves); errors name the key.

    Raises:
        ConfigError: an invalid combination.
    """
    m, t = config.model, config.train
    if m.arch not in _ARCHS:
        raise ConfigError(f"model.arch: expected one of {_ARCHS}, got {m.arch!r}")
    if t.recipe not in _RECIPES:
        raise ConfigError(f"train.recipe: expected one of {_RECIPES}, got {t.recipe!r}")
    if m.arch == "dfgan" and m.num_stages != 1:
        raise ConfigError(f"model.num_stages: the 'dfgan' arch has a single stage, got {m.num_stages}")
    if m.arch == "stacked" and m.ffblock_resolutions:
        raise ConfigError("model.ffblock_resolutions: only used by arch 'dfgan' (stacked models fuse in their stages)")
    base = m.image_size // 2 ** (m.num_stages - 1)
    if not _power_of_two(m.image_size) or base < 8 or base * 2 ** (m.num_stages - 1) != m.image_size:
        raise ConfigError(
            f"model.image_size: expected a power of two with image_size / 2^(num_stages-1) >= 8, "
            f"got image_size={m.image_size}, num_stages={m.num_stages}"
        )


# ---------------------------------------------------------------------------------------------- components
def _text_vocabulary(config: FFGANConfig, vocabulary: Any) -> Any:
    """The text encoder's vocabulary: ``vocabulary`` when given, else what the config's dataset decides
    ([`vocabulary_for_config`][fusionblocks.data.dataset_vocabulary.vocabulary_for_config])."""
    if vocabulary is None:
        return vocabulary_for_config(config)
    if isinstance(vocabulary, VocabularySource):
        return vocabulary
    return VocabularySource(load_vocabulary(vocabulary, key="vocabulary"), "given to the builder")


def _freeze(module: nn.Module) -> nn.Module:
    if hasattr(module, "freeze"):
        module.freeze()
    module.requires_grad_(False)
    return module.eval()


def _build_text_encoder(config: FFGANConfig, vocabulary: Any) -> nn.Module:
    tc = config.text
    if tc.encoder == "text.damsm_bilstm":
        if tc.weights is not None:
            from ..text import load_damsm_text_encoder

            encoder = load_damsm_text_encoder(tc.weights, vocabulary=vocabulary, max_words=tc.max_words, freeze=True)
        else:
            # a vocabulary fixes the size; text.vocab_size is for token-id-only encoders (no vocabulary known)
            vocab_size = len(vocabulary) if vocabulary is not None else tc.vocab_size
            if vocab_size is None:
                raise ConfigError(
                    "text.vocab_size: required for text.damsm_bilstm when no vocabulary is known; give the data "
                    "folder (data.root / --data: the dataset decides the vocabulary) or text.vocabulary"
                )
            encoder = create(
                "text_encoder", tc.encoder, vocab_size=vocab_size, embedding_dim=tc.embedding_dim,
                hidden_dim=tc.hidden_dim, max_words=tc.max_words, dropout=tc.dropout, vocabulary=vocabulary,
                **tc.kwargs,
            )
    elif tc.encoder == "text.clip":
        encoder = create(
            "text_encoder", tc.encoder, model_name=tc.clip_model, pretrained=tc.weights, word_dim=tc.word_dim,
            **{"context_length": min(tc.max_words, 77) if tc.max_words else None, **tc.kwargs},
        )
    else:
        encoder = create("text_encoder", tc.encoder, **tc.kwargs)
    for attr in ("word_dim", "sentence_dim"):
        if not isinstance(getattr(encoder, attr, None), int):
            raise ConfigError(f"text.encoder: {tc.encoder!r} must expose an integer attribute {attr!r}")
    return _freeze(encoder) if tc.freeze else encoder


def _build_image_encoder(config: FFGANConfig, text_encoder: nn.Module) -> nn.Module | None:
    ic = config.image
    if ic.encoder is None or config.train.recipe != "ffgan":
        return None
    embed_dim = ic.embed_dim if ic.embed_dim is not None else text_encoder.sentence_dim
    if config.train.damsm_lambda > 0 and not (embed_dim == text_encoder.word_dim == text_encoder.sentence_dim):
        raise ConfigError(
            f"image.embed_dim: the DAMSM loss needs image features of the text widths, got embed_dim={embed_dim}, "
            f"text word_dim={text_encoder.word_dim}, sentence_dim={text_encoder.sentence_dim} "
            "(set text.word_dim to the sentence width, or train.damsm_lambda=0)"
        )
    kwargs: dict[str, Any] = dict(ic.kwargs)
    if ic.encoder == "image.damsm_inception":
        kwargs.setdefault("weights", ic.weights)
        kwargs.setdefault("backbone_weights", ic.backbone_weights)
        encoder = create("image_encoder", ic.encoder, embed_dim=embed_dim, **kwargs)
    else:
        if ic.encoder == "image.small_cnn":
            kwargs.setdefault("image_size", config.model.image_size)
        encoder = create("image_encoder", ic.encoder, embed_dim=embed_dim, **kwargs)
        if ic.weights is not None:
            from ..state_dict_io import read_state_dict

            encoder.load_state_dict(read_state_dict(ic.weights, "image.weights"))
    return _freeze(encoder)


def _build_generator(config: FFGANConfig, word_dim: int, sentence_dim: int) -> nn.Module:
    m = config.model
    if m.arch == "dfgan":
        return DFGenerator(
            nf=m.ngf, z_dim=m.z_dim, sentence_dim=sentence_dim, image_size=m.image_size,
            word_dim=word_dim if m.ffblock_resolutions else None,
            ffblock_resolutions=m.ffblock_resolutions, mask_padding=m.mask_padding,
        )
    return StackedGenerator(
        z_dim=m.z_dim, sentence_dim=sentence_dim, word_dim=word_dim, ngf=m.ngf, cond_dim=m.cond_dim,
        base_size=m.image_sizes[0], num_stages=m.num_stages, res_blocks=m.res_blocks,
        stage_fusion=m.stage_fusion, stage_fusion_kwargs=m.stage_fusion_kwargs, mask_padding=m.mask_padding,
        ca_sample_in_eval=m.ca_sample_in_eval,
    )


def _build_discriminators(config: FFGANConfig, sentence_dim: int) -> nn.ModuleList:
    m = config.model
    if m.arch == "dfgan":
        return nn.ModuleList(
            [DFDiscriminator(m.ndf, sentence_dim, m.image_size, keep_unused_shortcuts=m.keep_unused_shortcuts)]
        )
    return nn.ModuleList(
        StageDiscriminator(size, m.ndf, sentence_dim, uncond=m.uncond_head, sn=m.spectral_norm)
        for size in m.image_sizes
    )


def _build_recipe(config: FFGANConfig) -> Any:
    from ..train.recipes import DFGANRecipe, FFGANRecipe

    t = config.train
    common = dict(
        ema_decay=t.ema_decay, z_dim=config.model.z_dim, lr_g=t.lr_g, lr_d=t.lr_d, betas=(t.betas[0], t.betas[1])
    )
    if t.recipe == "dfgan":
        return DFGANRecipe(magp_k=t.magp_k, magp_p=t.magp_p, magp_form=t.magp_form, **common)
    return FFGANRecipe(
        damsm_lambda=t.damsm_lambda, gamma1=t.gamma1, gamma2=t.gamma2, gamma3=t.gamma3, damsm_form=t.damsm_form,
        kl_weight=t.kl_weight, **common,
    )


def build_ffgan(preset_or_config: Any = "cub256", /, *, vocabulary: Any = None, **overrides: Any) -> BuiltGAN:
    """Build a GAN from a preset name, a YAML path, a mapping or an
    [`FFGANConfig`][fusionblocks.ffgan.config.FFGANConfig].

    Args:
        preset_or_config: ``"cub256"``, ``"coco256"``, ``"tiny64"``, ``"dfgan"``, ``"attngan"``, ``"ffgan_clip"``,
            ``"dfgan_ffblock"``, a registered preset, a ``.yaml`` path, a mapping, or a config.
        vocabulary: The text encoder's vocabulary: a [`Vocabulary`][fusionblocks.text.vocabulary.Vocabulary], a
            [`VocabularySource`][fusionblocks.data.dataset_vocabulary.VocabularySource] or a vocabulary file.
            Default: ``text.vocabulary`` when set, else the one the config's dataset decides
            ([`vocabulary_for_config`][fusionblocks.data.dataset_vocabulary.vocabulary_for_config]); encoders
            with their own tokenizer (CLIP) take none.
        **overrides: Config overrides: ``model={"ngf": 16}`` (merged into the section), ``model__ngf=16``, or
            ``**{"model.ngf": 16}``. Unknown keys raise [`ConfigError`][fusionblocks.ffgan.config.ConfigError] naming
            them.

    Returns:
        [`BuiltGAN`][fusionblocks.ffgan.builder.BuiltGAN]. The text and image encoders are frozen (eval mode, no
        gradients); the generator and
        discriminators get the official init when ``model.init == "official"``.

    Shapes:
        ``gan.generator(z (B, z_dim), sentence (B, Ds), words (B, T, Dw), mask (B, T))`` →
        ``GeneratorOutput(images [(B, 3, s, s) for s in model.image_sizes], attention [(B, T, h, w)], mu, logvar)``.
    """
    items = {k.replace("__", "."): v for k, v in overrides.items()}
    config = resolve_config(preset_or_config, items)
    vocab_source = _text_vocabulary(config, vocabulary)
    text_encoder = _build_text_encoder(config, vocab_source.vocabulary if vocab_source is not None else None)
    image_encoder = _build_image_encoder(config, text_encoder)
    generator = _build_generator(config, text_encoder.word_dim, text_encoder.sentence_dim)
    discriminators = _build_discriminators(config, text_encoder.sentence_dim)
    if config.model.init == "official":
        official_init(generator)
        for d in discriminators:
            official_init(d)
    return BuiltGAN(
        config=config,
        generator=generator,
        discriminators=discriminators,
        text_encoder=text_encoder,
        image_encoder=image_encoder,
        recipe=_build_recipe(config),
        provenance=encoder_provenance(config, vocab_source),
    )


def build(spec: Any, /, **overrides: Any) -> Any:
    """Build any registered model: an [`FFGANConfig`][fusionblocks.ffgan.config.FFGANConfig], a mapping, a YAML path,
    or a registered model name.

    Registered names (``list_components("model")``) are built with ``create("model", name, **overrides)``, so a
    third-party model factory registered with kind ``"model"`` works too.
    """
    if isinstance(spec, (FFGANConfig, Mapping)):
        return build_ffgan(spec, **overrides)
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if text.endswith((".yaml", ".yml")) or os.path.isfile(text):
            return build_ffgan(text, **overrides)
        return get_registry("model").create(text, **overrides)
    raise TypeError(
        f"spec: expected a registered model name, a YAML path, a mapping or an FFGANConfig, got {type(spec).__name__}"
    )
