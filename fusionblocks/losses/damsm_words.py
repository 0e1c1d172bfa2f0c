"""DAMSM word-level matching loss (AttnGAN / DM-GAN / FF-GAN), vectorised over every (image, caption) pair.

The official code loops over the captions of the batch in Python. Here all ``B × B``
pairs are scored at once; the padded words of each caption are masked out exactly, so the result equals the
official per-caption loop over the true lengths ``T_i`` ([FF-GAN: DAMSM losses][ffgan-damsm-losses]).
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import nn

from .._checks import check_image_features, check_mask, check_same_batch, check_tensor, check_words
from ..registry import register
from ._common import check_class_ids, check_gamma, matching_cross_entropy, same_class_mask
from .outputs import DAMSMLoss

__all__ = ["damsm_word_loss", "DAMSMWordLoss", "WORD_SCORE_FORMS"]

WORD_SCORE_FORMS: tuple[str, ...] = ("official", "paper")


def damsm_word_loss(
    regions: torch.Tensor,
    words: torch.Tensor,
    mask: torch.Tensor,
    class_ids: torch.Tensor | Sequence[int] | None = None,
    gamma1: float = 4.0,
    gamma2: float = 5.0,
    gamma3: float = 10.0,
    form: Literal["official", "paper"] = "official",
    eps: float = 1e-8,
    *,
    negative_words: torch.Tensor | None = None,
    negative_mask: torch.Tensor | None = None,
) -> DAMSMLoss:
    """DAMSM word loss between every image's regions and every caption's words.

    For caption ``i`` (real words ``t`` only) and image ``j`` with regions ``r``:

    1. ``s[t, r] = e_t · v_r``;
    2. ``s̄ = softmax over the caption's real words`` of ``s[·, r]``;
    3. ``α[t, r] = softmax over regions`` of ``γ1 · s̄[t, ·]``;
    4. ``c_t = Σ_r α[t, r] v_r``;
    5. ``R(j, i) = log Σ_t exp(γ2 · cos(c_t, e_t))`` with ``cos = e·c / max(‖e‖‖c‖, eps)``
       (``form="official"``, the released code), or ``(1/γ2) · log Σ_t exp(γ2 · cos)`` (``form="paper"``,
       the AttnGAN paper's ``log (Σ ...)^(1/γ2)``);
    6. ``S[j, i] = γ3 · R(j, i)``;
    7. ``S[j, i] = −inf`` when ``class_ids[j] == class_ids[i]`` and ``j ≠ i``;
    8. ``loss0 = CE(S, arange(B))`` (each image picks its caption), ``loss1 = CE(Sᵀ, arange(B))``.

    The sum in step 5 is computed with ``logsumexp`` (equal to the official ``log(sum(exp))`` in exact
    arithmetic, without its overflow for large ``γ2``). Padded words (``mask`` False) take no part in any step,
    whatever their content.

    **Hard negatives** (an option; off by default and in every official preset): ``negative_words[j]`` holds
    the word features of ``K`` captions that are false for image ``j`` but close to its caption (e.g. one
    attribute changed, [sample_hard_negatives][fusionblocks.data.shapes.negatives.sample_hard_negatives]). Each is
    scored
    against image ``j`` by steps 1–6, ``N[j, k] = γ3 · R(j, negative k)``, and joins row ``j`` of ``loss0`` as an
    extra wrong answer: ``loss0 = CE([S | N], arange(B))``; ``loss1`` is unchanged. Without them the loss is
    exactly the official one.

    Args:
        regions: Region features of the images (e.g. DAMSM Inception ``17 × 17`` regions).
        words: Word features of the captions, in the same embedding space (``E`` channels).
        mask: True for real words; every caption needs at least one.
        class_ids: Optional class of each sample; same-class, non-matching pairs are excluded.
        gamma1: Attention sharpness over regions (``γ1``; 4 in the FF-GAN configs).
        gamma2: Word-score sharpness (``γ2``; 5).
        gamma3: Score scale before the softmax over the batch (``γ3``; 10).
        form: ``"official"`` (default, matches the released encoders) or ``"paper"``.
        eps: Clamp of the norm product in the cosine.
        negative_words: Optional word features of ``K`` hard-negative captions per image (see above).
        negative_mask: Their real-word mask (required with ``negative_words``).

    Returns:
        [`DAMSMLoss`][fusionblocks.losses.outputs.DAMSMLoss] with ``loss0``, ``loss1``, ``scores`` (rows = images,
        columns = captions), ``attention``: each caption's word → region attention ``α`` over its own image, zero
        at padded words, and ``negative_scores`` ``N`` with hard negatives.

    Shapes:
        regions: ``(B, E, h, w)``; words: ``(B, T, E)``; mask: ``(B, T)`` bool; class_ids: ``(B,)``;
        negative_words: ``(B, K, T', E)``; negative_mask: ``(B, K, T')`` bool.
        Returns loss0, loss1: ``()``; scores: ``(B, B)``; attention: ``(B, T, h, w)``;
        negative_scores: ``(B, K)``.

    Memory:
        ``O(B · W · h · w)`` with ``W`` the number of real words in the batch (the largest intermediate is the
        ``(B, B, T, h·w)`` grid of the softmax over words: about 50 MB at ``B=48, T=18, 17×17`` in float32).
    """
    regions = check_image_features(regions, "regions")
    batch, channels, height, width = regions.shape
    words = check_words(words, "words", dim=channels)
    check_same_batch(regions=regions, words=words)
    length = words.shape[1]
    mask = check_mask(mask, "mask", batch, length)
    class_ids = check_class_ids(class_ids, "class_ids", batch, regions.device)
    gamma1 = check_gamma(gamma1, "gamma1")
    gamma2 = check_gamma(gamma2, "gamma2")
    gamma3 = check_gamma(gamma3, "gamma3")
    if form not in WORD_SCORE_FORMS:
        raise ValueError(f"form: expected one of {WORD_SCORE_FORMS}, got {form!r}")
    if mask.device != words.device or regions.device != words.device:
        raise ValueError(
            "words: expected regions, words and mask on one device, got "
            f"{regions.device}, {words.device}, {mask.device}"
        )

    dtype = torch.promote_types(regions.dtype, words.dtype)
    nreg = height * width
    # The two big products run over the W = Σ_i T_i real words only ("packed"): no FLOPs on padding, and the
    # content of padded positions (even inf/nan) is never read, so it cannot reach any result or gradient. The
    # padded (B_j, B_i, T, ·) layout is used only for the two cheap per-caption reductions over words.
    cap, pos = mask.nonzero(as_tuple=True)  # caption index and position of every real word
    e = words.to(dtype)[cap, pos]  # (W, E)
    v = regions.to(dtype).flatten(2)  # (B_j, E, R)

    # Axes: j = image, w = real word (of caption cap[w]), r = region, e = channel.
    sim = torch.einsum("we,jer->jwr", e, v)  # (B_j, W, R)
    grid = sim.new_full((batch, batch, length, nreg), float("-inf"))
    grid[:, cap, pos] = sim
    sim = torch.softmax(grid, dim=2)[:, cap, pos]  # softmax over each caption's real words -> (B_j, W, R)
    attn = torch.softmax(gamma1 * sim, dim=2)  # over regions
    context = torch.einsum("jwr,jer->jwe", attn, v)  # (B_j, W, E)

    dot = (context * e[None]).sum(-1)
    norms = torch.linalg.vector_norm(context, dim=-1) * torch.linalg.vector_norm(e, dim=-1)[None]
    cos = dot / norms.clamp_min(eps)  # (B_j, W)
    word_logits = cos.new_full((batch, batch, length), float("-inf"))
    word_logits[:, cap, pos] = gamma2 * cos
    score = torch.logsumexp(word_logits, dim=2)  # (B_j, B_i)
    if form == "paper":
        score = score / gamma2
    scores = gamma3 * score
    if class_ids is not None:
        scores = scores.masked_fill(same_class_mask(class_ids), float("-inf"))
    negative_scores = None
    if negative_words is not None or negative_mask is not None:
        negative_scores = gamma3 * _negative_scores(
            v, negative_words, negative_mask, batch, channels, gamma1, gamma2, form, eps
        ).to(scores.dtype)
    loss0, loss1 = matching_cross_entropy(scores, negative_scores)

    own = attn.new_zeros(batch, length, nreg)  # caption i over its own image i, zero at padded words
    own[cap, pos] = attn[cap, torch.arange(cap.numel(), device=cap.device)]
    own = own.reshape(batch, length, height, width)
    return DAMSMLoss(loss0=loss0, loss1=loss1, scores=scores, attention=own, negative_scores=negative_scores)


def _negative_scores(
    v: torch.Tensor,
    negative_words: torch.Tensor | None,
    negative_mask: torch.Tensor | None,
    batch: int,
    channels: int,
    gamma1: float,
    gamma2: float,
    form: str,
    eps: float,
) -> torch.Tensor:
    """``R(j, negative k of image j)`` (steps 1–5, before ``γ3``) for every image's own hard negatives: ``(B, K)``.

    The same computation as the batch grid, on the paired (image ``j``, its caption ``k``) only.
    """
    if negative_words is None or negative_mask is None:
        raise ValueError("negative_words: give negative_words and negative_mask together")
    negative_words = check_tensor(negative_words, "negative_words", ndim=4)
    if negative_words.shape[0] != batch or negative_words.shape[3] != channels or 0 in negative_words.shape[1:3]:
        raise ValueError(
            f"negative_words: expected (B, K, T, E) = ({batch}, K >= 1, T >= 1, {channels}), "
            f"got {tuple(negative_words.shape)}"
        )
    _, count, length, _ = negative_words.shape
    if isinstance(negative_mask, torch.Tensor) and tuple(negative_mask.shape) != (batch, count, length):
        raise ValueError(
            f"negative_mask: expected shape ({batch}, {count}, {length}) to match negative_words, "
            f"got {tuple(negative_mask.shape)}"
        )
    flat_mask = (
        negative_mask.reshape(batch * count, length) if isinstance(negative_mask, torch.Tensor) else negative_mask
    )
    negative_mask = check_mask(flat_mask, "negative_mask", batch * count, length).reshape(batch, count, length)
    if negative_words.device != v.device or negative_mask.device != v.device:
        raise ValueError(
            f"negative_words: expected device {v.device}, got {negative_words.device} / {negative_mask.device}"
        )
    keep = negative_mask[..., None]
    e = torch.where(keep, negative_words.to(v.dtype), 0.0)  # padded slots never reach a result, whatever they hold
    # Axes: j = image, k = its negative, t = word, r = region, e = channel.
    sim = torch.einsum("jkte,jer->jktr", e, v)
    sim = torch.softmax(sim.masked_fill(~keep, float("-inf")), dim=2)  # over each caption's real words
    attn = torch.softmax(gamma1 * sim, dim=3)  # over regions
    context = torch.einsum("jktr,jer->jkte", attn, v)
    dot = (context * e).sum(-1)
    norms = torch.linalg.vector_norm(context, dim=-1) * torch.linalg.vector_norm(e, dim=-1)
    cos = dot / norms.clamp_min(eps)
    score = torch.logsumexp((gamma2 * cos).masked_fill(~negative_mask, float("-inf")), dim=2)  # (B, K)
    return score / gamma2 if form == "paper" else score


@register("loss", "loss.damsm_words", paper="AttnGAN (CVPR 2018), used by DM-GAN and FF-GAN")
class DAMSMWordLoss(nn.Module):
    """Module wrapper of [`damsm_word_loss`][fusionblocks.losses.damsm_words.damsm_word_loss] holding ``γ1, γ2, γ3``
    and the score form.

    Args:
        gamma1: Attention sharpness over regions.
        gamma2: Word-score sharpness.
        gamma3: Score scale.
        form: ``"official"`` or ``"paper"`` (see [`damsm_word_loss`][fusionblocks.losses.damsm_words.damsm_word_loss]).

    Shapes:
        regions: ``(B, E, h, w)``; words: ``(B, T, E)``; mask: ``(B, T)`` bool; class_ids: ``(B,)``;
        negative_words: ``(B, K, T', E)``; negative_mask: ``(B, K, T')``.
        Returns [`DAMSMLoss`][fusionblocks.losses.outputs.DAMSMLoss] (scores ``(B, B)``, attention
        ``(B, T, h, w)``, negative_scores ``(B, K)``).
    """

    def __init__(
        self,
        gamma1: float = 4.0,
        gamma2: float = 5.0,
        gamma3: float = 10.0,
        form: Literal["official", "paper"] = "official",
    ) -> None:
        super().__init__()
        self.gamma1 = check_gamma(gamma1, "gamma1")
        self.gamma2 = check_gamma(gamma2, "gamma2")
        self.gamma3 = check_gamma(gamma3, "gamma3")
        if form not in WORD_SCORE_FORMS:
            raise ValueError(f"form: expected one of {WORD_SCORE_FORMS}, got {form!r}")
        self.form = form

    def forward(
        self,
        regions: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor,
        class_ids: torch.Tensor | Sequence[int] | None = None,
        negative_words: torch.Tensor | None = None,
        negative_mask: torch.Tensor | None = None,
    ) -> DAMSMLoss:
        return damsm_word_loss(
            regions, words, mask, class_ids, gamma1=self.gamma1, gamma2=self.gamma2, gamma3=self.gamma3, form=self.form,
            negative_words=negative_words, negative_mask=negative_mask,
        )

    def extra_repr(self) -> str:
        return f"gamma1={self.gamma1}, gamma2={self.gamma2}, gamma3={self.gamma3}, form={self.form!r}"
