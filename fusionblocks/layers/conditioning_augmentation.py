"""Conditioning augmentation (StackGAN/AttnGAN ``CA_NET``; [FF-GAN: conditioning augmentation][ffgan-ca])."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_positive_int, check_sentence
from ..registry import register
from ._example import LayerExample, example_generator
from .glu import GLU

__all__ = ["ConditioningAugmentation"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(7)
    return LayerExample(
        module=ConditioningAugmentation(12, 4),
        args=(torch.randn(batch_size, 12, generator=g),),
        output_shapes=((batch_size, 4),) * 3,
    )


@register("layer", "ffgan.ca", example=_example, paper="StackGAN / AttnGAN / FF-GAN")
class ConditioningAugmentation(nn.Module):
    """Gaussian conditioning code from a sentence embedding: ``c = μ + exp(½ log σ²) ⊙ ε``.

    As in the official code: ``[μ ; log σ²] = GLU(Linear(text_dim → 4·cond_dim, bias)(s))`` (μ is the
    first half), ``ε ~ N(0, I)`` drawn with ``torch.randn_like`` on the input's device.

    Sampling: in training mode ``c`` is sampled; in eval mode ``c = μ`` unless ``sample_in_eval=True`` (the official
    behaviour samples at inference too). ``sample=True/False`` in ``forward`` overrides both.

    Args:
        text_dim: Sentence embedding width.
        cond_dim: Width of the conditioning code (ncf).
        sample_in_eval: Keep sampling in eval mode (official FF-GAN/AttnGAN behaviour).

    Shapes:
        - sentence: ``(B, text_dim)``.
        - output: ``(c, mu, logvar)``, each ``(B, cond_dim)``.
    """

    def __init__(self, text_dim: int = 256, cond_dim: int = 100, sample_in_eval: bool = False) -> None:
        super().__init__()
        self.text_dim = check_positive_int(text_dim, "text_dim")
        self.cond_dim = check_positive_int(cond_dim, "cond_dim")
        self.sample_in_eval = bool(sample_in_eval)
        self.fc = nn.Linear(self.text_dim, 4 * self.cond_dim, bias=True)
        self.glu = GLU()

    def forward(
        self, sentence: torch.Tensor, sample: bool | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(c, mu, logvar)``; see the class docstring for when ``c`` is sampled."""
        sentence = check_sentence(sentence, "sentence", self.text_dim, like=self)
        mu, logvar = self.glu(self.fc(sentence)).chunk(2, dim=1)
        if sample is None:
            sample = self.training or self.sample_in_eval
        if not sample:
            return mu, mu, logvar
        c = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return c, mu, logvar

    def extra_repr(self) -> str:
        return f"text_dim={self.text_dim}, cond_dim={self.cond_dim}, sample_in_eval={self.sample_in_eval}"
