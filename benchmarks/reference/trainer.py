"""One official-style FF-GAN training iteration (docs/ffgan.md "Training recipe"), for benchmarks only.

Per iteration: encode the captions with the frozen text encoder *with autograd on*, then detach (docs/ffgan.md "Where
the official code and the paper differ");
z ~ N(0, I); G forward; for each scale: zero D_i's grads, D loss, backward, Adam step; zero G's grads; G loss
(BCE per scale + λ·DAMSM at 256² + KL) whose backward also fills the discriminators' weight gradients (docs/ffgan.md
"Where the official code and the paper differ");
Adam step of G; per-parameter EMA update of G. Everything NCHW, fp32, default (for-loop on CPU) Adam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .discriminators import D_NET64, D_NET128, D_NET256
from .encoders import CNN_ENCODER, RNN_ENCODER
from .generator import G_NET
from .losses import KL_loss, discriminator_loss, generator_loss

__all__ = ["ReferenceConfig", "ReferenceFFGAN", "build_reference"]


@dataclass
class ReferenceConfig:
    """Sizes of the reference model; defaults are the CUB config (``bird_DMGAN.yml``, docs/ffgan.md "Presets")."""

    ngf: int = 64
    ndf: int = 32
    nef: int = 256
    ncf: int = 100
    nz: int = 100
    r_num: int = 2
    n_words: int = 5450
    lambda_: float = 5.0
    gammas: tuple[float, float, float] = (4.0, 5.0, 10.0)
    lr: float = 2e-4


class ReferenceFFGAN:
    """The official FF-GAN training state and iteration.

    Args:
        config: Model sizes and loss weights.
        image_encoder: The DAMSM image encoder (default: a torchvision-Inception :class:`CNN_ENCODER`).
        device: Where to put everything.

    Shapes (``step``):
        - imgs: ``[(B,3,64,64), (B,3,128,128), (B,3,256,256)]`` in [-1, 1].
        - captions: ``(B, T)`` long, sorted by decreasing length; cap_lens ``(B,)``; class_ids numpy ``(B,)`` or None.
    """

    def __init__(
        self,
        config: ReferenceConfig | None = None,
        image_encoder: nn.Module | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = cfg = config or ReferenceConfig()
        self.device = torch.device(device)
        self.netG = G_NET(cfg.ngf, cfg.nef, cfg.ncf, cfg.nz, cfg.r_num).to(self.device)
        self.netsD = [D(cfg.ndf, cfg.nef).to(self.device) for D in (D_NET64, D_NET128, D_NET256)]
        self.text_encoder = RNN_ENCODER(cfg.n_words, nhidden=cfg.nef).to(self.device).eval()
        for p in self.text_encoder.parameters():
            p.requires_grad = False
        self.image_encoder = (image_encoder or CNN_ENCODER(cfg.nef)).to(self.device).eval()
        for p in self.image_encoder.parameters():
            p.requires_grad = False
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        self.optimizersD = [
            torch.optim.Adam([p for p in d.parameters() if p.requires_grad], lr=cfg.lr, betas=(0.5, 0.999))
            for d in self.netsD
        ]
        self.avg_param_G = [p.data.clone() for p in self.netG.parameters()]

    def encode_text(self, captions: torch.Tensor, cap_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Official text encoding: autograd on, then detach. Returns words ``(B, D, T)`` and sentence ``(B, D)``."""
        hidden = self.text_encoder.init_hidden(captions.size(0))
        words_embs, sent_emb = self.text_encoder(captions, cap_lens, hidden)
        return words_embs.detach(), sent_emb.detach()

    def step(
        self,
        imgs: list[torch.Tensor],
        captions: torch.Tensor,
        cap_lens: torch.Tensor,
        class_ids: np.ndarray | None = None,
    ) -> dict[str, torch.Tensor]:
        """Run one training iteration; returns the detached loss terms."""
        cfg = self.config
        batch_size = captions.size(0)
        real_labels = torch.ones(batch_size, device=self.device)
        fake_labels = torch.zeros(batch_size, device=self.device)
        match_labels = torch.arange(batch_size, device=self.device)

        words_embs, sent_emb = self.encode_text(captions, cap_lens)
        mask = captions == 0
        num_words = words_embs.size(2)
        if mask.size(1) > num_words:
            mask = mask[:, :num_words]

        noise = torch.randn(batch_size, cfg.nz, device=self.device)
        fake_imgs, _, mu, logvar = self.netG(noise, sent_emb, words_embs, mask, cap_lens)

        terms: dict[str, torch.Tensor] = {}
        for i, (net_d, opt_d) in enumerate(zip(self.netsD, self.optimizersD)):
            net_d.zero_grad()
            err_d = discriminator_loss(net_d, imgs[i], fake_imgs[i], sent_emb, real_labels, fake_labels)
            err_d.backward()
            opt_d.step()
            terms[f"d{i}"] = err_d.detach()

        self.netG.zero_grad()
        err_g, g_terms = generator_loss(
            self.netsD, self.image_encoder, fake_imgs, real_labels, words_embs, sent_emb, match_labels,
            cap_lens, class_ids, cfg.lambda_, cfg.gammas,
        )  # fmt: skip
        kl = KL_loss(mu, logvar)
        err_g = err_g + kl
        err_g.backward()
        self.optimizerG.step()
        for p, avg_p in zip(self.netG.parameters(), self.avg_param_G):
            avg_p.mul_(0.999).add_(p.data, alpha=0.001)
        terms.update(g_terms)
        terms["kl"] = kl.detach()
        terms["g_total"] = err_g.detach()
        return terms


def build_reference(
    config: ReferenceConfig | None = None, image_encoder: nn.Module | None = None, device: str = "cpu"
) -> ReferenceFFGAN:
    """Build the reference training state (CUB sizes by default).

    Shapes: see :class:`ReferenceFFGAN`.
    """
    return ReferenceFFGAN(config, image_encoder=image_encoder, device=device)
