"""What a training recipe is: one iteration of a GAN (D steps, G step, losses, optimisers), and its inputs.

The trainer (``fusionblocks.train``) owns devices, DDP, EMA, checkpoints and the loop; it hands a recipe the
modules (possibly DDP-wrapped), a [`TrainBatch`][fusionblocks.recipes.base.TrainBatch] and the optimisers built by
[`Recipe.build_optimizers`][fusionblocks.recipes.base.Recipe.build_optimizers]. Recipes are registered with kind
``"recipe"``; the builder finds the one ``train.recipe`` names and builds it with its ``from_config``.

In the G step the discriminators are called unwrapped (``d.module`` of a DDP wrapper): they are not updated there,
so their DDP reducers must not expect gradients. The D steps call them through DDP (real and fake forwards, then
one backward).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, ContextManager, Iterator, Sequence

import torch
from torch import nn

__all__ = ["TrainBatch", "TrainModules", "Recipe", "encode_text", "encode_negatives", "frozen", "unwrap_module",
           "check_scales"]


@dataclass
class TrainBatch:
    """One training batch.

    Args:
        images: Real images, one per generator output scale, smallest first, in ``[-1, 1]``.
        captions: Raw captions (any text encoder can take these).
        tokens: Token ids (alternative for vocabulary encoders such as DAMSM).
        lengths: Caption lengths for ``tokens``.
        class_ids: Class of each sample (DAMSM class masking, optional class-aware mismatch).
        negative_captions: Optional hard negatives: per sample, ``K`` captions that are false for its image
            (e.g. ``CaptionedShapes(hard_negatives=K)``); recipes with a hard-negative option use them.

    Shapes:
        images: ``[(B, 3, S_i, S_i)]``; tokens: ``(B, T)`` long; lengths, class_ids: ``(B,)`` long;
        negative_captions: ``B`` lists of ``K`` strings.
    """

    images: list[torch.Tensor]
    captions: list[str] | None
    tokens: torch.Tensor | None = None
    lengths: torch.Tensor | None = None
    class_ids: torch.Tensor | None = None
    negative_captions: list[list[str]] | None = None


@dataclass
class TrainModules:
    """What the trainer hands the recipe (modules may be DDP-wrapped)."""

    generator: nn.Module
    discriminators: Sequence[nn.Module]
    text_encoder: nn.Module
    image_encoder: nn.Module | None = None


def unwrap_module(module: nn.Module) -> nn.Module:
    """The module inside DDP / ``torch.compile`` wrappers (``.module`` chains)."""
    while hasattr(module, "module") and isinstance(module.module, nn.Module):
        module = module.module
    return module


def encode_text(text_encoder: nn.Module, batch: TrainBatch) -> Any:
    """Encode the batch's text under ``torch.no_grad`` with the frozen encoder.

    Token ids are used when the batch has them and the encoder is a vocabulary encoder (has ``vocab_size``);
    otherwise the raw captions.

    Raises:
        ValueError: the batch has neither usable tokens nor captions.

    Shapes:
        returns ``TextFeatures(words (B, T, Dw), sentence (B, Ds), mask (B, T))``.
    """
    inner = unwrap_module(text_encoder)
    if inner.training:
        inner.eval()
    with torch.no_grad():
        if batch.tokens is not None and hasattr(inner, "vocab_size"):
            return text_encoder(batch.tokens, batch.lengths)
        if batch.captions is None:
            raise ValueError("batch: has no captions (and no token ids usable by this text encoder)")
        return text_encoder(list(batch.captions))


def encode_negatives(text_encoder: nn.Module, batch: TrainBatch) -> Any:
    """Encode the batch's hard-negative captions (``K`` per sample) under ``torch.no_grad`` with the frozen encoder.

    Raises:
        ValueError: the batch has no negative captions, or not the same number ``K >= 1`` for every sample.

    Shapes:
        returns ``TextFeatures`` of the ``B·K`` captions, sample-major (rows ``j·K … j·K + K − 1`` are sample
        ``j``'s), and ``K``.
    """
    negatives = batch.negative_captions
    batch_size = batch.images[0].shape[0]
    if negatives is None:
        raise ValueError("batch: has no negative_captions (give the dataset hard_negatives=K, e.g. "
                         "data.kwargs.hard_negatives=1 for CaptionedShapes)")
    counts = {len(group) for group in negatives}
    if len(negatives) != batch_size or len(counts) != 1 or min(counts) < 1:
        raise ValueError(f"batch.negative_captions: expected {batch_size} lists of the same number K >= 1 of captions")
    inner = unwrap_module(text_encoder)
    if inner.training:
        inner.eval()
    with torch.no_grad():
        return text_encoder([c for group in negatives for c in group]), counts.pop()


@contextlib.contextmanager
def frozen(modules: Sequence[nn.Module]) -> Iterator[None]:
    """Set ``requires_grad=False`` on every parameter of ``modules`` and restore each flag afterwards."""
    saved = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    try:
        for p, _ in saved:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def _adam(params: Any, lr: float, betas: Sequence[float], fused: bool | None) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    kwargs: dict[str, Any] = {"lr": lr, "betas": (float(betas[0]), float(betas[1]))}
    if fused is not None:
        kwargs["fused"] = fused
    return torch.optim.Adam(params, **kwargs)


def check_scales(images: Sequence[torch.Tensor], fakes: Sequence[torch.Tensor], n_disc: int) -> None:
    """Check that the reals match the generator's outputs, one discriminator per scale."""
    if len(images) != len(fakes) or len(fakes) != n_disc:
        raise ValueError(
            f"batch.images: expected one real image tensor per generator output scale and discriminator "
            f"({len(fakes)} scales, {n_disc} discriminators), got {len(images)}"
        )
    for i, (real, fake) in enumerate(zip(images, fakes)):
        if real.shape[1:] != fake.shape[1:] or real.shape[0] != fake.shape[0]:
            raise ValueError(f"batch.images[{i}]: expected shape {tuple(fake.shape)}, got {tuple(real.shape)}")


@dataclass
class Recipe:
    """Base class: one training iteration of a GAN. Its fields are the defaults of the model config's ``train``
    section (same names), declared here once.

    Args:
        name: Recipe name (stored in checkpoints).
        ema_decay: Generator EMA decay the trainer should keep (None: no EMA).
        z_dim: Noise width of the generator.
        lr_g: Generator learning rate.
        lr_d: Discriminator learning rate.
        betas: Adam betas.
    """

    #: Whether the builder should build ``image.encoder`` for this recipe (the DAMSM loss needs one).
    uses_image_encoder: ClassVar[bool] = False

    name: str = "recipe"
    ema_decay: float | None = None
    z_dim: int = 100
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    @classmethod
    def from_config(cls, config: Any) -> "Recipe":
        """Build this recipe for a model config: ``z_dim`` from ``config.model``, every other field from the
        ``config.train`` entry of the same name (fields the section lacks keep their defaults).

        Args:
            config: An ``FFGANConfig`` (or any object with ``model.z_dim`` and a ``train`` section).
        """
        values: dict[str, Any] = {"z_dim": config.model.z_dim}
        for f in dataclasses.fields(cls):
            if f.init and f.name not in ("name", "z_dim") and hasattr(config.train, f.name):
                values[f.name] = getattr(config.train, f.name)
        if "betas" in values:
            values["betas"] = (float(values["betas"][0]), float(values["betas"][1]))
        return cls(**values)

    def build_optimizers(
        self, generator: nn.Module, discriminators: Sequence[nn.Module], *, fused: bool | None = None
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam for the generator (``"g"``) and one per discriminator (``"d0"``, ``"d1"``, …)."""
        opts = {"g": _adam(generator.parameters(), self.lr_g, self.betas, fused)}
        for i, d in enumerate(discriminators):
            opts[f"d{i}"] = _adam(d.parameters(), self.lr_d, self.betas, fused)
        return opts

    def sample_noise(self, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        """``z ~ N(0, I)`` on the device of ``like``.

        Shapes:
            returns ``(batch_size, z_dim)``.
        """
        return torch.randn(batch_size, self.z_dim, device=like.device)

    def generate(
        self, modules: TrainModules, batch: TrainBatch, autocast: Callable[[], ContextManager]
    ) -> tuple[Any, list[torch.Tensor], Any, list[nn.Module]]:
        """The start of every iteration: encode the text (frozen, no grad), draw ``z``, run the generator.

        Shapes:
            returns ``(text, reals, out, discriminators)``: TextFeatures of the B captions, the real images per
            scale, the ``GeneratorOutput`` and the discriminators as a list.
        """
        text = encode_text(modules.text_encoder, batch)
        reals = list(batch.images)
        z = self.sample_noise(reals[0].shape[0], reals[0])
        # no loss reads the attention maps: not asking for them lets word attention run as SDPA
        with autocast():
            out = modules.generator(z, text.sentence, text.words, text.mask, return_attention=False)
        return text, reals, out, list(modules.discriminators)

    def iteration(
        self,
        modules: TrainModules,
        batch: TrainBatch,
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        autocast: Callable[[], ContextManager] = contextlib.nullcontext,
    ) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        """Run the D step(s) then the G step and return detached loss terms by name."""
        raise NotImplementedError


