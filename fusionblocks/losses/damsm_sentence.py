"""DAMSM sentence-level matching loss: cosine between global image codes and sentence vectors
([FF-GAN: DAMSM losses][ffgan-damsm-losses])."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .._checks import check_same_batch, check_sentence, check_tensor
from ..registry import register
from ._common import check_class_ids, check_gamma, matching_cross_entropy, same_class_mask
from .outputs import DAMSMLoss

__all__ = ["damsm_sentence_loss", "DAMSMSentenceLoss"]


def damsm_sentence_loss(
    codes: torch.Tensor,
    sentence: torch.Tensor,
    class_ids: torch.Tensor | Sequence[int] | None = None,
    gamma3: float = 10.0,
    eps: float = 1e-8,
    *,
    negatives: torch.Tensor | None = None,
) -> DAMSMLoss:
    """DAMSM sentence loss.

    ``S[j, i] = γ3 · (v̄_j · ē_i) / max(‖v̄_j‖ ‖ē_i‖, eps)``; same-class non-matching pairs are set to
    ``-inf``; ``loss0 = CE(S, arange(B))`` (each image picks its sentence) and ``loss1 = CE(Sᵀ, arange(B))``.

    **Hard negatives** (an option; off by default and in every official preset): ``negatives[j]`` holds the
    sentence vectors of ``K`` captions that are false for image ``j`` but close to its caption (for example the
    caption with one attribute changed,
    [sample_hard_negatives][fusionblocks.data.shapes.negatives.sample_hard_negatives]). Their
    scores ``N[j, k] = γ3 · cos(v̄_j, n_jk)`` join row ``j`` of ``loss0`` as extra wrong answers:
    ``loss0 = CE([S | N], arange(B))``. ``loss1`` is unchanged. Without ``negatives`` the loss is exactly the
    official one.

    Args:
        codes: Global image codes (e.g. DAMSM Inception codes).
        sentence: Sentence vectors in the same space.
        class_ids: Optional class of each sample; same-class, non-matching pairs are excluded.
        gamma3: Score scale (``γ3``; 10).
        eps: Clamp of the norm product.
        negatives: Optional hard-negative sentence vectors, ``K`` per image (see above).

    Returns:
        [`DAMSMLoss`][fusionblocks.losses.outputs.DAMSMLoss] with ``loss0``, ``loss1`` and ``scores`` (rows = images,
        columns = sentences); ``attention`` is ``None``; ``negative_scores`` ``N`` with ``negatives``.

    Shapes:
        codes: ``(B, E)``; sentence: ``(B, E)``; class_ids: ``(B,)``; negatives: ``(B, K, E)``.
        Returns loss0, loss1: ``()``; scores: ``(B, B)``; negative_scores: ``(B, K)``.
    """
    codes = check_sentence(codes, "codes")
    sentence = check_sentence(sentence, "sentence", dim=codes.shape[1])
    batch = check_same_batch(codes=codes, sentence=sentence)
    class_ids = check_class_ids(class_ids, "class_ids", batch, codes.device)
    gamma3 = check_gamma(gamma3, "gamma3")
    if negatives is not None:
        negatives = check_tensor(negatives, "negatives", ndim=3)
        if negatives.shape[0] != batch or negatives.shape[2] != codes.shape[1] or negatives.shape[1] == 0:
            raise ValueError(
                f"negatives: expected (B, K, E) = ({batch}, K >= 1, {codes.shape[1]}) hard-negative sentence vectors, "
                f"got {tuple(negatives.shape)}"
            )
        if negatives.device != codes.device:
            raise ValueError(f"negatives: expected device {codes.device}, got {negatives.device}")
    dtype = torch.promote_types(codes.dtype, sentence.dtype)
    codes, sentence = codes.to(dtype), sentence.to(dtype)

    dots = codes @ sentence.t()  # (B_images, B_sentences)
    code_norms = torch.linalg.vector_norm(codes, dim=1)
    norms = code_norms[:, None] * torch.linalg.vector_norm(sentence, dim=1)[None, :]
    scores = gamma3 * dots / norms.clamp_min(eps)
    if class_ids is not None:
        scores = scores.masked_fill(same_class_mask(class_ids), float("-inf"))
    negative_scores = None
    if negatives is not None:
        negatives = negatives.to(dtype)
        neg_dots = torch.einsum("be,bke->bk", codes, negatives)
        neg_norms = code_norms[:, None] * torch.linalg.vector_norm(negatives, dim=2)
        negative_scores = gamma3 * neg_dots / neg_norms.clamp_min(eps)
    loss0, loss1 = matching_cross_entropy(scores, negative_scores)
    return DAMSMLoss(loss0=loss0, loss1=loss1, scores=scores, attention=None, negative_scores=negative_scores)


@register("loss", "loss.damsm_sentence", paper="AttnGAN (CVPR 2018), used by DM-GAN and FF-GAN")
class DAMSMSentenceLoss(nn.Module):
    """Module wrapper of [`damsm_sentence_loss`][fusionblocks.losses.damsm_sentence.damsm_sentence_loss].

    Args:
        gamma3: Score scale.

    Shapes:
        codes: ``(B, E)``; sentence: ``(B, E)``; class_ids: ``(B,)``; negatives: ``(B, K, E)``.
        Returns [`DAMSMLoss`][fusionblocks.losses.outputs.DAMSMLoss].
    """

    def __init__(self, gamma3: float = 10.0) -> None:
        super().__init__()
        self.gamma3 = check_gamma(gamma3, "gamma3")

    def forward(
        self,
        codes: torch.Tensor,
        sentence: torch.Tensor,
        class_ids: torch.Tensor | Sequence[int] | None = None,
        negatives: torch.Tensor | None = None,
    ) -> DAMSMLoss:
        return damsm_sentence_loss(codes, sentence, class_ids, gamma3=self.gamma3, negatives=negatives)

    def extra_repr(self) -> str:
        return f"gamma3={self.gamma3}"
