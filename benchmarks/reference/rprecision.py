"""Official-style DAMSM R-precision (docs/ffgan.md "R-precision"), for benchmarks only.

For every generated sample, in a Python loop: draw 99 mismatched captions by rejection sampling on the class
(``get_mis_caption``), sort them by length, encode them as one batch of 99 with autograd on (docs/ffgan.md "Where the
official code and the paper differ"), and
count a hit when the true caption has the highest cosine similarity among the 100 candidates. The true captions are
encoded in batches of ``batch_size`` (10 officially), as during generation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .losses import cosine_similarity

__all__ = ["draw_mismatched", "r_precision_official"]


def draw_mismatched(
    rng: np.random.RandomState, class_ids: np.ndarray, own_class: int, captions_per_image: int, count: int = 99
) -> np.ndarray:
    """Rejection-sample ``count`` caption indices of images whose class differs from ``own_class``.

    Shapes:
        - class_ids: ``(N_images,)``; output ``(count,)`` indices into the flat caption list
          (``image * captions_per_image + k``).
    """
    out = []
    while len(out) < count:
        idx = rng.randint(0, len(class_ids))
        if class_ids[idx] == own_class:
            continue
        out.append(idx * captions_per_image + rng.randint(0, captions_per_image))
    return np.asarray(out, dtype=np.int64)


def _encode(text_encoder: nn.Module, tokens: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    """Sort by length, encode (autograd on, as officially), restore the order. Returns ``(N, D)``."""
    order = torch.argsort(lens, descending=True, stable=True)
    sorted_tokens = tokens[order][:, : int(lens.max())]
    _, sent = text_encoder(sorted_tokens, lens[order])
    sent = sent.detach()
    out = torch.empty_like(sent)
    out[order] = sent
    return out


def r_precision_official(
    image_codes: torch.Tensor,
    true_caption: np.ndarray,
    tokens: torch.Tensor,
    lens: torch.Tensor,
    class_ids: np.ndarray,
    text_encoder: nn.Module,
    captions_per_image: int = 10,
    candidates: np.ndarray | None = None,
    rng: np.random.RandomState | None = None,
    batch_size: int = 10,
) -> np.ndarray:
    """Hit indicators of the official R-precision loop.

    Args:
        image_codes: Global DAMSM codes of the generated images.
        true_caption: For each sample, its caption's index into ``tokens``.
        tokens: All test captions as token ids, 0-padded; lens their lengths.
        class_ids: Class of every test *image* (caption ``k`` belongs to image ``k // captions_per_image``).
        text_encoder: The (eval-mode) DAMSM text encoder (official signature ``(captions, cap_lens)``).
        captions_per_image: Captions per image in the flat caption list.
        candidates: Optional ``(N, 99)`` mismatched caption indices; drawn by rejection sampling when None.
        rng: Numpy random state for the rejection sampling.
        batch_size: Generation batch size (true captions are encoded in batches of this size).

    Shapes:
        - image_codes ``(N, D)``; true_caption ``(N,)``; tokens ``(M, T)`` long; lens ``(M,)``; class_ids
          ``(M / captions_per_image,)``; candidates ``(N, 99)``; output ``(N,)`` bool.
    """
    rng = rng or np.random.RandomState(100)
    device = image_codes.device
    num = image_codes.size(0)
    hits = np.zeros(num, dtype=bool)
    for start in range(0, num, batch_size):
        idx = torch.as_tensor(true_caption[start : start + batch_size], dtype=torch.long)
        sent_emb = _encode(text_encoder, tokens[idx].to(device), lens[idx].to(device))
        for j in range(idx.numel()):
            i = start + j
            if candidates is None:
                own = class_ids[int(true_caption[i]) // captions_per_image]
                mis = draw_mismatched(rng, class_ids, own, captions_per_image)
            else:
                mis = candidates[i]
            mis_t = torch.as_tensor(mis, dtype=torch.long)
            mis_emb = _encode(text_encoder, tokens[mis_t].to(device), lens[mis_t].to(device))
            rnn_code = torch.cat((sent_emb[j : j + 1], mis_emb), 0)
            scores = cosine_similarity(image_codes[i : i + 1].expand_as(rnn_code), rnn_code)
            hits[i] = int(torch.argmax(scores)) == 0
    return hits
