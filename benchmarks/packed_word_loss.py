"""Prototype: the DAMSM word loss on *packed* real words (no FLOPs on padding).

``fusionblocks.losses.damsm_word_loss`` scores all ``B × B`` (image, caption) pairs at the padded length ``T``;
with CUB-like captions (5–18 words) about a third of its matmul FLOPs go to padded positions. Here the two big
products (word–region similarities and the attended contexts) run over the ``W = Σ_i T_i`` real words only; the
padded layout is used just for the two cheap per-caption reductions (softmax over words, logsumexp over words).
Same values as the library and the official loop (see ``tests/benchmarks``); a candidate for ``losses/damsm_words.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["damsm_word_loss_packed"]


def damsm_word_loss_packed(
    regions: torch.Tensor,
    words: torch.Tensor,
    mask: torch.Tensor,
    class_ids: torch.Tensor | None = None,
    gamma1: float = 4.0,
    gamma2: float = 5.0,
    gamma3: float = 10.0,
    eps: float = 1e-8,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DAMSM word loss (official form) over packed real words.

    Shapes:
        - regions ``(B, E, h, w)``; words ``(B, T, E)``; mask ``(B, T)`` bool (True = real); class_ids ``(B,)``.
        - returns loss0, loss1 ``()`` and scores ``(B, B)`` (rows = images, columns = captions).
    """
    batch, _, height, width = regions.shape
    length = words.shape[1]
    nreg = height * width
    dtype = torch.promote_types(regions.dtype, words.dtype)
    v = regions.to(dtype).flatten(2)  # (B_j, E, R)
    cap, pos = mask.nonzero(as_tuple=True)  # the W real words: caption index, position
    e = words.to(dtype)[cap, pos]  # (W, E)

    sim = torch.einsum("we,jer->jwr", e, v)  # (B_j, W, R): the big product, real words only
    padded = sim.new_full((batch, batch, length, nreg), float("-inf"))
    padded[:, cap, pos] = sim
    soft = torch.softmax(padded, dim=2)[:, cap, pos]  # softmax over each caption's words -> (B_j, W, R)
    attn = torch.softmax(gamma1 * soft, dim=2)  # over regions
    context = torch.einsum("jwr,jer->jwe", attn, v)  # (B_j, W, E): the other big product

    dot = (context * e[None]).sum(-1)
    norms = torch.linalg.vector_norm(context, dim=-1) * torch.linalg.vector_norm(e, dim=-1)[None]
    cos = dot / norms.clamp_min(eps)  # (B_j, W)
    logits = cos.new_full((batch, batch, length), float("-inf"))
    logits[:, cap, pos] = gamma2 * cos
    scores = gamma3 * torch.logsumexp(logits, dim=2)  # (B_j, B_i)
    if class_ids is not None:
        same = (class_ids[:, None] == class_ids[None, :]) & ~torch.eye(batch, dtype=torch.bool, device=scores.device)
        scores = scores.masked_fill(same, float("-inf"))
    labels = torch.arange(batch, device=scores.device)
    return F.cross_entropy(scores, labels), F.cross_entropy(scores.t(), labels), scores
