"""The miniature ablation's variants: one shared tiny base configuration and one table of small overrides.

Every variant is the ``tiny64`` preset with :data:`BASE_OVERRIDES` (32 px, generator and discriminator width 16,
the seed's pre-trained DAMSM encoders, one- and two-object CaptionedShapes scenes) plus its own override dict in
:data:`VARIANTS`. Widths are shared, so the comparison is between architectures, not sizes.

Values that depend on the run (the paths of the seed's DAMSM encoders, the optional CLIP weights) are
:class:`Placeholder` objects, filled in by :func:`variant_overrides`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from fusionblocks.recipes import DFGANRecipe

__all__ = [
    "PRESET",
    "Placeholder",
    "DAMSM_TEXT",
    "DAMSM_IMAGE",
    "CLIP_WEIGHTS",
    "BASE_OVERRIDES",
    "Variant",
    "VARIANTS",
    "VARIANT_NAMES",
    "REFERENCE_VARIANT",
    "variant_overrides",
]

#: The preset every variant starts from.
PRESET = "tiny64"


@dataclass(frozen=True)
class Placeholder:
    """A config value known only when a run starts (looked up by ``name`` in :func:`variant_overrides`)."""

    name: str


DAMSM_TEXT = Placeholder("damsm_text")
DAMSM_IMAGE = Placeholder("damsm_image")
CLIP_WEIGHTS = Placeholder("clip_weights")

#: What every variant shares: the demo's 32 px tiny settings, trained on one- and two-object scenes with relations.
BASE_OVERRIDES: dict[str, Any] = {
    "model.image_size": 32,
    "model.num_stages": 2,
    "model.ngf": 16,
    "model.ndf": 16,
    "model.z_dim": 32,
    "model.cond_dim": 32,
    "text.weights": DAMSM_TEXT,
    "image.encoder": "image.small_cnn",
    "image.kwargs": {"image_size": 32, "region_size": 8, "channels": [16, 32, 64]},
    "image.weights": DAMSM_IMAGE,
    "train.ema_decay": 0.99,
    "train.batch_size": 16,
    "train.lr_g": 4e-4,
    "train.lr_d": 4e-4,
    "train.damsm_lambda": 2.0,
    "train.precision": "bf16",
    "train.hard_negatives": True,
    "train.damsm_mask_same_class": False,
    "data.dataset": "captioned_shapes",
    "data.captions_per_image": 5,
    "data.num_workers": 0,
    "data.kwargs": {"size": 4096, "max_objects": 2, "hard_negatives": 1},
}


@dataclass(frozen=True)
class Variant:
    """One row of the ablation.

    Attributes:
        name: Short name (folder name, table row).
        what: One line saying what the variant changes.
        overrides: Dotted config overrides applied on top of :data:`BASE_OVERRIDES`.
    """

    name: str
    what: str
    overrides: dict[str, Any] = field(default_factory=dict)


_DFGAN_OVERRIDES: dict[str, Any] = {
    "model.arch": "dfgan",
    "model.num_stages": 1,
    "model.init": "default",
    "image.encoder": None,
    "image.weights": None,
    "train.recipe": "dfgan",
    "train.lr_g": DFGANRecipe.lr_g,
    "train.lr_d": DFGANRecipe.lr_d,
    "train.betas": list(DFGANRecipe.betas),
    "train.ema_decay": DFGANRecipe.ema_decay,
    "train.damsm_lambda": 0.0,
    "train.kl_weight": 0.0,
    "train.hard_negatives": False,
    "data.kwargs": {"size": 4096, "max_objects": 2, "hard_negatives": 0},
}

_CLIP_OVERRIDES: dict[str, Any] = {
    "text.encoder": "text.clip",
    "text.clip_model": "ViT-B-32",
    "text.vocab_size": None,
    "text.weights": CLIP_WEIGHTS,
    "image.encoder": None,
    "image.weights": None,
    "train.damsm_lambda": 0.0,
}

#: The variants, in table order. The first is the reference the others are compared with.
VARIANTS: tuple[Variant, ...] = (
    Variant("ffgan", "full FF-GAN: refinement stages fuse with [FF-Block ; GSR]"),
    Variant(
        "ffgan_no_words",
        "FF-Block without word attention: the sentence is its only key (GSR kept)",
        {"model.stage_fusion_kwargs": {"word_attention": False}},
    ),
    Variant("ffgan_no_gsr", "FF-GAN with identity instead of GSR", {"model.stage_fusion_kwargs": {"gsr": False}}),
    Variant(
        "attngan",
        "AttnGAN-style stages: [h ; word context] (same discriminators and recipe)",
        {"model.stage_fusion": "attngan.stage_fusion"},
    ),
    Variant(
        "dfgan",
        "DF-GAN: one 32 px stage of DFBlocks (sentence only), its own hinge + MA-GP recipe, no EMA",
        _DFGAN_OVERRIDES,
    ),
    Variant(
        "clip",
        "full FF-GAN with a frozen open_clip ViT-B-32 text encoder (random weights unless --clip-weights), "
        "no DAMSM term",
        _CLIP_OVERRIDES,
    ),
)

VARIANT_NAMES: tuple[str, ...] = tuple(v.name for v in VARIANTS)
REFERENCE_VARIANT = "ffgan"


def _resolve(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, Placeholder):
        if value.name not in values:
            raise KeyError(f"values: no value for the placeholder {value.name!r}")
        return values[value.name]
    return value


def variant_overrides(
    variant: Variant, values: Mapping[str, Any], extra: Mapping[str, Any] | None = None, relations: bool = False
) -> dict[str, Any]:
    """The dotted config overrides of ``variant``: base, then the variant's, then ``extra``, placeholders filled.

    Args:
        variant: A row of :data:`VARIANTS`.
        values: Placeholder name -> value (``damsm_text``, ``damsm_image``, ``clip_weights``).
        extra: Overrides applied last (e.g. the quick mode's batch size).
        relations: Relation-aware DAMSM encoders: a variant with the small CNN image encoder gets its code from
            the flattened last stage (``image.kwargs.code_pooling: flatten``), as its pre-trained weights expect.

    Raises:
        KeyError: ``values`` lacks a placeholder the overrides use.
    """
    merged = {**BASE_OVERRIDES, **variant.overrides, **(extra or {})}
    if relations and merged.get("image.encoder") == "image.small_cnn":
        merged["image.kwargs"] = {**merged["image.kwargs"], "code_pooling": "flatten"}
    return {key: _resolve(value, values) for key, value in merged.items()}
