"""``build_ffgan`` / ``build``: a config (or preset name, or YAML path) → a
[`BuiltGAN`][fusionblocks.ffgan.builder.BuiltGAN]."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..data.dataset_vocabulary import VocabularySource, load_vocabulary, vocabulary_for_config
from ..models import official_init
from ..recipes import TrainModules
from ..registry import create, get_registry
from ..state_dict_io import read_state_dict
from .components import build_component, config_builder
from .config import ConfigError, FFGANConfig
from .preset_lookup import preset_config
from .provenance import encoder_provenance

__all__ = ["BuiltGAN", "build_ffgan", "build", "validate_config", "resolve_config"]



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
        generator: Any = self.generator  # the generator protocol: image_sizes, z_dim
        return [int(s) for s in generator.image_sizes]

    def to(self, *args: Any, **kwargs: Any) -> "BuiltGAN":
        """Move every module (like ``torch.nn.Module.to``); returns ``self``."""
        self.generator.to(*args, **kwargs)
        self.discriminators.to(*args, **kwargs)
        self.text_encoder.to(*args, **kwargs)
        if self.image_encoder is not None:
            self.image_encoder.to(*args, **kwargs)
        return self

    def train_modules(self) -> TrainModules:
        """The modules as a [`TrainModules`][fusionblocks.recipes.base.TrainModules] (unwrapped)."""
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
        g: Any = generator if generator is not None else self.generator
        was_training = g.training
        g.eval()
        try:
            text = self.text_encoder(captions) if lengths is None else self.text_encoder(captions, lengths)
            if z is None:
                z_dim = int(g.z_dim)
                z = torch.randn(text.sentence.shape[0], z_dim, device=text.sentence.device)
            return g(z, text.sentence, text.words, text.mask, return_attention=True)
        finally:
            g.train(was_training)


def resolve_config(spec: Any, overrides: Mapping[str, Any] | None = None) -> FFGANConfig:
    """A preset name, YAML path, mapping or [`FFGANConfig`][fusionblocks.ffgan.config.FFGANConfig] → a validated config
    with overrides applied.

    Raises:
        ConfigError: unknown keys / bad values (dotted names); KeyError: unknown preset.
    """
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
    named = [("generator", m.arch, "model.arch"), ("recipe", t.recipe, "train.recipe"),
             ("text_encoder", config.text.encoder, "text.encoder")]
    named += [("discriminator", m.discriminator, "model.discriminator")] if m.discriminator is not None else []
    named += [("image_encoder", config.image.encoder, "image.encoder")] if config.image.encoder is not None else []
    for kind, name, key in named:
        config_builder(kind, name, key)  # raises naming the key when the name is not registered
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
    freeze = getattr(module, "freeze", None)
    if callable(freeze):
        freeze()
    module.requires_grad_(False)
    return module.eval()


def _build_text_encoder(config: FFGANConfig, vocabulary: Any) -> nn.Module:
    tc = config.text
    encoder = build_component(
        "text_encoder", tc.encoder, config, key="text.encoder", context={"vocabulary": vocabulary},
        standard=tc.kwargs,
    )
    for attr in ("word_dim", "sentence_dim"):
        if not isinstance(getattr(encoder, attr, None), int):
            raise ConfigError(f"text.encoder: {tc.encoder!r} must expose an integer attribute {attr!r}")
    return _freeze(encoder) if tc.freeze else encoder


def _build_image_encoder(config: FFGANConfig, text_encoder: nn.Module, recipe: Any) -> nn.Module | None:
    ic = config.image
    if ic.encoder is None or not getattr(recipe, "uses_image_encoder", False):
        return None
    embed_dim = ic.embed_dim if ic.embed_dim is not None else text_encoder.sentence_dim
    if config.train.damsm_lambda > 0 and not (embed_dim == text_encoder.word_dim == text_encoder.sentence_dim):
        raise ConfigError(
            f"image.embed_dim: the DAMSM loss needs image features of the text widths, got embed_dim={embed_dim}, "
            f"text word_dim={text_encoder.word_dim}, sentence_dim={text_encoder.sentence_dim} "
            "(set text.word_dim to the sentence width, or train.damsm_lambda=0)"
        )
    if config_builder("image_encoder", ic.encoder, "image.encoder") is not None:
        encoder = build_component(
            "image_encoder", ic.encoder, config, key="image.encoder", context={"embed_dim": embed_dim}, standard={}
        )
    else:  # a plugin encoder: standard keywords, and the configured weights loaded into it
        encoder = create("image_encoder", ic.encoder, embed_dim=embed_dim, **ic.kwargs)
        if ic.weights is not None:
            encoder.load_state_dict(read_state_dict(ic.weights, "image.weights"))
    return _freeze(encoder)


def _build_generator(config: FFGANConfig, word_dim: int, sentence_dim: int) -> nn.Module:
    m = config.model
    dims = {"word_dim": word_dim, "sentence_dim": sentence_dim}
    generator = build_component(
        "generator", m.arch, config, key="model.arch", context=dims,
        standard={"z_dim": m.z_dim, "image_size": m.image_size, **dims, **m.generator_kwargs},
    )
    if not isinstance(generator, nn.Module):
        raise ConfigError(f"model.arch: {m.arch!r} built a {type(generator).__name__}, expected an nn.Module")
    for attr, ok in (("z_dim", lambda v: isinstance(v, int)), ("image_sizes", lambda v: bool(list(v or [])))):
        if not ok(getattr(generator, attr, None)):
            raise ConfigError(
                f"model.arch: the generator {m.arch!r} must expose {attr!r} (the noise width, and its output "
                "resolutions smallest first)"
            )
    return generator


def _discriminator_name(config: FFGANConfig) -> str:
    m = config.model
    if m.discriminator is not None:
        return m.discriminator
    name = get_registry("generator").metadata(m.arch).get("discriminator")
    if not isinstance(name, str):
        raise ConfigError(
            f"model.discriminator: the generator {m.arch!r} was registered without a default discriminator "
            "(register(..., discriminator='name')); set model.discriminator"
        )
    return name


def _build_discriminators(config: FFGANConfig, sentence_dim: int, image_sizes: Sequence[int]) -> nn.ModuleList:
    """One discriminator per generator output scale, smallest first."""
    m, name = config.model, _discriminator_name(config)
    return nn.ModuleList(
        build_component(
            "discriminator", name, config, key="model.discriminator",
            context={"sentence_dim": sentence_dim, "image_size": int(size)},
            standard={"image_size": int(size), "sentence_dim": sentence_dim, **m.discriminator_kwargs},
        )
        for size in image_sizes
    )


def _build_recipe(config: FFGANConfig) -> Any:
    t = config.train
    return build_component(
        "recipe", t.recipe, config, key="train.recipe", context={},
        standard={
            "z_dim": config.model.z_dim, "lr_g": t.lr_g, "lr_d": t.lr_d, "betas": tuple(t.betas),
            "ema_decay": t.ema_decay,
        },
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
    recipe = _build_recipe(config)
    text_encoder = _build_text_encoder(config, vocab_source.vocabulary if vocab_source is not None else None)
    image_encoder = _build_image_encoder(config, text_encoder, recipe)
    encoder: Any = text_encoder  # the text-encoder protocol: integer word_dim and sentence_dim
    generator: Any = _build_generator(config, encoder.word_dim, encoder.sentence_dim)
    discriminators = _build_discriminators(config, encoder.sentence_dim, generator.image_sizes)
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
        recipe=recipe,
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
