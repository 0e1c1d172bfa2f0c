"""A plain re-implementation of the official FF-GAN formulation, for side-by-side benchmarks only.

Written from docs/ffgan.md "Architecture" and docs/ffgan.md "R-precision" (no code copied from the official
repositories). It keeps the official
*formulation and its inefficiencies on purpose* (docs/ffgan.md "Where the official code and the paper differ"): bmm +
softmax word attention (no SDPA), the
per-caption Python loop of the DAMSM word loss, per-sample R-precision that re-encodes 99 captions, text encoded with
autograd on, discriminator weight gradients accumulated during the generator step, NCHW layout, sigmoid + ``BCELoss``
and a custom power-iteration spectral norm whose ``u``/``v`` are parameters.

Conventions follow the official code, not fusionblocks: words are ``(B, D, T)``, captions are sorted by length in
decreasing order, the mask is ``captions == 0`` (True = padding).
"""

from .discriminators import D_NET64, D_NET128, D_NET256, D_GET_LOGITS
from .encoders import CNN_ENCODER, RNN_ENCODER
from .generator import ACM, CA_NET, G_NET, INIT_STAGE_G, NEXT_STAGE_G, SentenceAttention, WordAttention
from .losses import KL_loss, discriminator_loss, generator_loss, sent_loss, words_loss
from .rprecision import r_precision_official
from .spectral import SpectralNorm
from .trainer import ReferenceFFGAN, build_reference

__all__ = [
    "ACM",
    "CA_NET",
    "CNN_ENCODER",
    "D_GET_LOGITS",
    "D_NET128",
    "D_NET256",
    "D_NET64",
    "G_NET",
    "INIT_STAGE_G",
    "KL_loss",
    "NEXT_STAGE_G",
    "RNN_ENCODER",
    "ReferenceFFGAN",
    "SentenceAttention",
    "SpectralNorm",
    "WordAttention",
    "build_reference",
    "discriminator_loss",
    "generator_loss",
    "r_precision_official",
    "sent_loss",
    "words_loss",
]
