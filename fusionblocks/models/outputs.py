"""Output containers of the generators and discriminators."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["GeneratorOutput", "DiscriminatorOutput"]


@dataclass
class GeneratorOutput:
    """What every generator returns.

    Args:
        images: Generated images, one per output scale, smallest first, in ``[-1, 1]``.
        attention: Word-attention maps, one per fusion step that attends over words (FF-GAN: one per refinement
            stage), in the order they were computed. Empty when the model attends to no words.
        mu: Conditioning-augmentation mean (None for models without CA).
        logvar: Conditioning-augmentation log-variance (None for models without CA).

    Shapes:
        - images: ``[(B, 3, S_i, S_i)]``.
        - attention: ``[(B, T, H_j, W_j)]``.
        - mu, logvar: ``(B, cond_dim)``.
    """

    images: list[torch.Tensor]
    attention: list[torch.Tensor] = field(default_factory=list)
    mu: torch.Tensor | None = None
    logvar: torch.Tensor | None = None


@dataclass
class DiscriminatorOutput:
    """What every discriminator returns: trunk features and pre-sigmoid logits.

    Args:
        features: Trunk features (the conditional head's input).
        cond: Conditional logits for ``(image_b, sentence_b)``; None when no sentence was given.
        uncond: Unconditional logits; None for discriminators without an unconditional head.
        wrong: Conditional logits for ``(image_b, wrong_sentence_b)``; None when no wrong sentence was given.

    Shapes:
        - features: ``(B, C, 4, 4)``.
        - cond, uncond, wrong: ``(B,)`` logits (apply a sigmoid for probabilities).
    """

    features: torch.Tensor
    cond: torch.Tensor | None = None
    uncond: torch.Tensor | None = None
    wrong: torch.Tensor | None = None
