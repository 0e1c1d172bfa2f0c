"""Reference FF-GAN losses (docs/ffgan.md "Losses"). Benchmarks only.

``words_loss`` keeps the official Python loop over the captions (docs/ffgan.md "Where the official code and the paper
differ") and the numpy class masks;
adversarial terms use sigmoid heads with ``nn.BCELoss``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["KL_loss", "cosine_similarity", "discriminator_loss", "func_attention", "generator_loss", "sent_loss",
           "words_loss"]  # fmt: skip


def cosine_similarity(x1: torch.Tensor, x2: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Cosine similarity with the norm product clamped at ``eps``. Shapes: ``(N, D), (N, D)`` → ``(N,)``."""
    w12 = torch.sum(x1 * x2, dim)
    w1 = torch.norm(x1, 2, dim)
    w2 = torch.norm(x2, 2, dim)
    return (w12 / (w1 * w2).clamp(min=eps)).squeeze()


def func_attention(query: torch.Tensor, context: torch.Tensor, gamma1: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Word→region attention of DAMSM (docs/ffgan.md "DAMSM losses").

    Shapes:
        - query (words): ``(B, D, T)``; context (regions): ``(B, D, h, w)``.
        - outputs: weighted context ``(B, D, T)``, attention ``(B, T, h, w)``.
    """
    batch_size, query_l = query.size(0), query.size(2)
    ih, iw = context.size(2), context.size(3)
    source_l = ih * iw
    context = context.view(batch_size, -1, source_l)
    context_t = torch.transpose(context, 1, 2).contiguous()
    attn = torch.bmm(context_t, query)  # B × R × T
    attn = attn.view(batch_size * source_l, query_l)
    attn = nn.Softmax(dim=1)(attn)  # over words
    attn = attn.view(batch_size, source_l, query_l)
    attn = torch.transpose(attn, 1, 2).contiguous()  # B × T × R
    attn = attn.view(batch_size * query_l, source_l)
    attn = attn * gamma1
    attn = nn.Softmax(dim=1)(attn)  # over regions
    attn = attn.view(batch_size, query_l, source_l)
    attn_t = torch.transpose(attn, 1, 2).contiguous()
    weighted_context = torch.bmm(context, attn_t)  # B × D × T
    return weighted_context, attn.view(batch_size, -1, ih, iw)


def _class_masks(class_ids: np.ndarray | None, batch_size: int) -> torch.Tensor | None:
    if class_ids is None:
        return None
    masks = []
    for i in range(batch_size):
        mask = (class_ids == class_ids[i]).astype(np.uint8)
        mask[i] = 0
        masks.append(mask.reshape((1, -1)))
    return torch.from_numpy(np.concatenate(masks, 0)).bool()


def words_loss(
    img_features: torch.Tensor,
    words_emb: torch.Tensor,
    labels: torch.Tensor,
    cap_lens: torch.Tensor,
    class_ids: np.ndarray | None,
    batch_size: int,
    gamma1: float = 4.0,
    gamma2: float = 5.0,
    gamma3: float = 10.0,
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """DAMSM word loss with the official per-caption loop (docs/ffgan.md "DAMSM losses").

    Shapes:
        - img_features ``(B, D, 17, 17)``; words_emb ``(B, D, T)``; labels ``(B,)``; cap_lens ``(B,)``.
        - outputs: loss0, loss1 (scalars), attention maps (list of ``(1, T_i, 17, 17)``).
    """
    masks = _class_masks(class_ids, batch_size)
    att_maps = []
    similarities = []
    lens = cap_lens.data.tolist()
    for i in range(batch_size):
        words_num = int(lens[i])
        word = words_emb[i, :, :words_num].unsqueeze(0).contiguous()
        word = word.repeat(batch_size, 1, 1)  # B × D × T_i
        wei_context, attn = func_attention(word, img_features, gamma1)
        att_maps.append(attn[i].unsqueeze(0).contiguous())
        word = word.transpose(1, 2).contiguous().view(batch_size * words_num, -1)
        wei_context = wei_context.transpose(1, 2).contiguous().view(batch_size * words_num, -1)
        row_sim = cosine_similarity(word, wei_context).view(batch_size, words_num)
        row_sim.mul_(gamma2).exp_()
        row_sim = torch.log(row_sim.sum(dim=1, keepdim=True))
        similarities.append(row_sim)
    sims = torch.cat(similarities, 1) * gamma3  # rows = images, columns = captions
    if masks is not None:
        sims = sims.masked_fill(masks.to(sims.device), -float("inf"))
    loss0 = nn.CrossEntropyLoss()(sims, labels)
    loss1 = nn.CrossEntropyLoss()(sims.transpose(0, 1), labels)
    return loss0, loss1, att_maps


def sent_loss(
    cnn_code: torch.Tensor,
    rnn_code: torch.Tensor,
    labels: torch.Tensor,
    class_ids: np.ndarray | None,
    batch_size: int,
    gamma3: float = 10.0,
    eps: float = 1e-8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """DAMSM sentence loss (docs/ffgan.md "DAMSM losses"). Shapes: ``(B, D), (B, D), (B,)`` → two scalars."""
    masks = _class_masks(class_ids, batch_size)
    cnn_code = cnn_code.unsqueeze(0)
    rnn_code = rnn_code.unsqueeze(0)
    cnn_code_norm = torch.norm(cnn_code, 2, dim=2, keepdim=True)
    rnn_code_norm = torch.norm(rnn_code, 2, dim=2, keepdim=True)
    scores0 = torch.bmm(cnn_code, rnn_code.transpose(1, 2))
    norm0 = torch.bmm(cnn_code_norm, rnn_code_norm.transpose(1, 2))
    scores0 = (scores0 / norm0.clamp(min=eps) * gamma3).squeeze(0)
    if masks is not None:
        scores0 = scores0.masked_fill(masks.to(scores0.device), -float("inf"))
    loss0 = nn.CrossEntropyLoss()(scores0, labels)
    loss1 = nn.CrossEntropyLoss()(scores0.transpose(0, 1), labels)
    return loss0, loss1


def discriminator_loss(
    net_d: nn.Module,
    real_imgs: torch.Tensor,
    fake_imgs: torch.Tensor,
    conditions: torch.Tensor,
    real_labels: torch.Tensor,
    fake_labels: torch.Tensor,
) -> torch.Tensor:
    """½(real_u + cond_real) + ⅓(fake_u + cond_fake + cond_wrong) (docs/ffgan.md "Discriminator loss"). Shapes: images
    ``(B, 3, H, W)``."""
    real_features = net_d(real_imgs)
    fake_features = net_d(fake_imgs.detach())
    cond_real_logits = net_d.COND_DNET(real_features, conditions)
    cond_real_err = nn.BCELoss()(cond_real_logits, real_labels)
    cond_fake_logits = net_d.COND_DNET(fake_features, conditions)
    cond_fake_err = nn.BCELoss()(cond_fake_logits, fake_labels)
    batch_size = real_features.size(0)
    cond_wrong_logits = net_d.COND_DNET(real_features[: (batch_size - 1)], conditions[1:batch_size])
    cond_wrong_err = nn.BCELoss()(cond_wrong_logits, fake_labels[1:batch_size])
    real_logits = net_d.UNCOND_DNET(real_features)
    fake_logits = net_d.UNCOND_DNET(fake_features)
    real_err = nn.BCELoss()(real_logits, real_labels)
    fake_err = nn.BCELoss()(fake_logits, fake_labels)
    return (real_err + cond_real_err) / 2.0 + (fake_err + cond_fake_err + cond_wrong_err) / 3.0


def generator_loss(
    nets_d: Sequence[nn.Module],
    image_encoder: nn.Module,
    fake_imgs: Sequence[torch.Tensor],
    real_labels: torch.Tensor,
    words_embs: torch.Tensor,
    sent_emb: torch.Tensor,
    match_labels: torch.Tensor,
    cap_lens: torch.Tensor,
    class_ids: np.ndarray | None,
    lambda_: float = 5.0,
    gammas: tuple[float, float, float] = (4.0, 5.0, 10.0),
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Σ_i [BCE(D^u(x̂_i), 1) + BCE(D^c(x̂_i, s), 1)] + λ(L_w + L_s) at the last scale (docs/ffgan.md "Generator loss").

    Shapes: fake images per scale ``(B, 3, H_i, W_i)``; words ``(B, D, T)``; sentence ``(B, D)``.
    """
    batch_size = real_labels.size(0)
    total = 0.0
    terms: dict[str, torch.Tensor] = {}
    for i, net_d in enumerate(nets_d):
        features = net_d(fake_imgs[i])
        cond_err = nn.BCELoss()(net_d.COND_DNET(features, sent_emb), real_labels)
        err = nn.BCELoss()(net_d.UNCOND_DNET(features), real_labels)
        g_loss = err + cond_err
        terms[f"g{i}"] = g_loss.detach()
        total = total + g_loss
        if i == len(nets_d) - 1:
            region_features, cnn_code = image_encoder(fake_imgs[i])
            w0, w1, _ = words_loss(
                region_features, words_embs, match_labels, cap_lens, class_ids, batch_size, *gammas
            )
            s0, s1 = sent_loss(cnn_code, sent_emb, match_labels, class_ids, batch_size, gammas[2])
            w_loss = (w0 + w1) * lambda_
            s_loss = (s0 + s1) * lambda_
            terms["damsm_w"] = w_loss.detach()
            terms["damsm_s"] = s_loss.detach()
            total = total + w_loss + s_loss
    return total, terms


def KL_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:  # noqa: N802 (official name)
    """−½ mean(1 + log σ² − μ² − σ²) (docs/ffgan.md "KL term"). Shapes: ``(B, C), (B, C)`` → scalar."""
    kld_element = mu.pow(2).add_(logvar.exp()).mul_(-1).add_(1).add_(logvar)
    return torch.mean(kld_element).mul_(-0.5)
