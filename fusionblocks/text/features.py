"""The text-encoder output container and the common base class of every text encoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch
from torch import nn

__all__ = ["TextFeatures", "TextEncoder"]


@dataclass
class TextFeatures:
    """What every text encoder returns: per-token features, a sentence vector and a token mask.

    Args:
        words: Per-token features, token-major.
        sentence: One vector per caption.
        mask: ``True`` for real tokens, ``False`` for padding.

    Shapes:
        words: ``(B, T, D)``; sentence: ``(B, Ds)``; mask: ``(B, T)`` bool.
    """

    words: torch.Tensor
    sentence: torch.Tensor
    mask: torch.Tensor

    def to(self, *args, **kwargs) -> "TextFeatures":
        """Move/cast ``words`` and ``sentence`` like ``torch.Tensor.to``; the mask keeps its bool dtype."""
        words = self.words.to(*args, **kwargs)
        return TextFeatures(
            words=words,
            sentence=self.sentence.to(*args, **kwargs),
            mask=self.mask.to(device=words.device),
        )

    def detach(self) -> "TextFeatures":
        """A copy with ``words`` and ``sentence`` detached from the autograd graph."""
        return TextFeatures(self.words.detach(), self.sentence.detach(), self.mask)

    @property
    def lengths(self) -> torch.Tensor:
        """Number of real tokens per caption.

        Shapes:
            ``(B,)`` long.
        """
        return self.mask.sum(dim=1)

    def __len__(self) -> int:
        return int(self.words.shape[0])


class TextEncoder(nn.Module):
    """Base class of text encoders: captions (strings or token ids) →
    [`TextFeatures`][fusionblocks.text.features.TextFeatures].

    Subclasses set ``word_dim`` and ``sentence_dim`` in their constructor and implement
    ``forward``. An encoder that maps words through a [`Vocabulary`][fusionblocks.text.vocabulary.Vocabulary] sets
    the class attribute ``uses_vocabulary`` to True and takes ``vocabulary=`` in its constructor: the builder then
    gives it the dataset's vocabulary (encoders with their own tokenizer, such as CLIP, keep the default False).
    [`freeze`][fusionblocks.text.features.TextEncoder.freeze] turns the encoder into a fixed feature extractor: no
    gradients, and it
    stays in eval mode even when a parent module calls ``.train()``.

    Shapes:
        forward: captions ``B`` strings or ids ``(B, T)`` long (+ lengths ``(B,)``) →
        ``TextFeatures(words (B, T, word_dim), sentence (B, sentence_dim), mask (B, T))``.
    """

    word_dim: int
    sentence_dim: int
    uses_vocabulary: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._frozen = False

    @property
    def frozen(self) -> bool:
        """Whether [`freeze`][fusionblocks.text.features.TextEncoder.freeze] is in force."""
        return self._frozen

    def freeze(self) -> "TextEncoder":
        """Stop gradients to every parameter and keep the encoder in eval mode (dropout off) from now on."""
        self._frozen = True
        self.requires_grad_(False)
        return self.train(False)

    def unfreeze(self) -> "TextEncoder":
        """Undo [`freeze`][fusionblocks.text.features.TextEncoder.freeze]: parameters require gradients again and
        ``.train()`` works normally.
        """
        self._frozen = False
        self.requires_grad_(True)
        return self

    def train(self, mode: bool = True) -> "TextEncoder":
        """Like ``torch.nn.Module.train``, except that a frozen encoder always stays in eval mode."""
        return super().train(False if self._frozen else mode)

    def forward(  # pragma: no cover - abstract
        self, captions: Sequence[str] | torch.Tensor, lengths: torch.Tensor | None = None
    ) -> TextFeatures:
        raise NotImplementedError
