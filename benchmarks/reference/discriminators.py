"""Reference FF-GAN / DM-GAN discriminators (docs/ffgan.md "Discriminators"). Benchmarks only.

Spectral norm (custom, :class:`SpectralNorm`) on every trunk conv and on ``jointConv``; biases everywhere; no
BatchNorm; LeakyReLU 0.2; heads end in a sigmoid, as the official code (the losses use ``nn.BCELoss``).
"""

from __future__ import annotations

import torch
from torch import nn

from .spectral import SpectralNorm

__all__ = ["D_GET_LOGITS", "D_NET128", "D_NET256", "D_NET64"]


def block3x3_leaky_relu(in_planes: int, out_planes: int) -> nn.Sequential:
    """SN conv3x3 (bias) → LeakyReLU(0.2). Shapes: ``(B, in, H, W)`` → ``(B, out, H, W)``."""
    return nn.Sequential(
        SpectralNorm(nn.Conv2d(in_planes, out_planes, 3, 1, 1, bias=True)), nn.LeakyReLU(0.2, inplace=True)
    )


def down_block(in_planes: int, out_planes: int) -> nn.Sequential:
    """SN conv4x4 s2 p1 (bias) → LeakyReLU(0.2). Shapes: ``(B, in, H, W)`` → ``(B, out, H/2, W/2)``."""
    return nn.Sequential(
        SpectralNorm(nn.Conv2d(in_planes, out_planes, 4, 2, 1, bias=True)), nn.LeakyReLU(0.2, inplace=True)
    )


def encode_image_by_16times(ndf: int) -> nn.Sequential:
    """Four SN conv4x4 s2 + LeakyReLU: ``(B, 3, H, W)`` → ``(B, 8·ndf, H/16, W/16)``."""
    layers: list[nn.Module] = []
    chans = [3, ndf, ndf * 2, ndf * 4, ndf * 8]
    for cin, cout in zip(chans[:-1], chans[1:]):
        layers += [SpectralNorm(nn.Conv2d(cin, cout, 4, 2, 1, bias=True)), nn.LeakyReLU(0.2, inplace=True)]
    return nn.Sequential(*layers)


class D_GET_LOGITS(nn.Module):
    """Conditional or unconditional logit head: (concat tiled sentence → SN conv3x3) → conv4x4/4 → sigmoid.

    Shapes:
        - h_code: ``(B, 8·ndf, 4, 4)``; c_code: ``(B, nef)`` (conditional only); output ``(B,)`` in (0, 1).
    """

    def __init__(self, ndf: int, nef: int, bcondition: bool = False) -> None:
        super().__init__()
        self.df_dim = ndf
        self.ef_dim = nef
        self.bcondition = bcondition
        if self.bcondition:
            self.jointConv = block3x3_leaky_relu(ndf * 8 + nef, ndf * 8)
        self.outlogits = nn.Sequential(nn.Conv2d(ndf * 8, 1, kernel_size=4, stride=4), nn.Sigmoid())

    def forward(self, h_code: torch.Tensor, c_code: torch.Tensor | None = None) -> torch.Tensor:
        if self.bcondition and c_code is not None:
            c_code = c_code.view(-1, self.ef_dim, 1, 1).repeat(1, 1, 4, 4)
            h_c_code = self.jointConv(torch.cat((h_code, c_code), 1))
        else:
            h_c_code = h_code
        return self.outlogits(h_c_code).view(-1)


class _DNet(nn.Module):
    def __init__(self, ndf: int, nef: int) -> None:
        super().__init__()
        self.UNCOND_DNET = D_GET_LOGITS(ndf, nef, bcondition=False)
        self.COND_DNET = D_GET_LOGITS(ndf, nef, bcondition=True)


class D_NET64(_DNet):
    """64² discriminator trunk. Shapes: ``(B, 3, 64, 64)`` → ``(B, 8·ndf, 4, 4)``."""

    def __init__(self, ndf: int = 32, nef: int = 256) -> None:
        super().__init__(ndf, nef)
        self.img_code_s16 = encode_image_by_16times(ndf)

    def forward(self, x_var: torch.Tensor) -> torch.Tensor:
        return self.img_code_s16(x_var)


class D_NET128(_DNet):
    """128² discriminator trunk. Shapes: ``(B, 3, 128, 128)`` → ``(B, 8·ndf, 4, 4)``."""

    def __init__(self, ndf: int = 32, nef: int = 256) -> None:
        super().__init__(ndf, nef)
        self.img_code_s16 = encode_image_by_16times(ndf)
        self.img_code_s32 = down_block(ndf * 8, ndf * 16)
        self.img_code_s32_1 = block3x3_leaky_relu(ndf * 16, ndf * 8)

    def forward(self, x_var: torch.Tensor) -> torch.Tensor:
        return self.img_code_s32_1(self.img_code_s32(self.img_code_s16(x_var)))


class D_NET256(_DNet):
    """256² discriminator trunk. Shapes: ``(B, 3, 256, 256)`` → ``(B, 8·ndf, 4, 4)``."""

    def __init__(self, ndf: int = 32, nef: int = 256) -> None:
        super().__init__(ndf, nef)
        self.img_code_s16 = encode_image_by_16times(ndf)
        self.img_code_s32 = down_block(ndf * 8, ndf * 16)
        self.img_code_s64 = down_block(ndf * 16, ndf * 32)
        self.img_code_s64_1 = block3x3_leaky_relu(ndf * 32, ndf * 16)
        self.img_code_s64_2 = block3x3_leaky_relu(ndf * 16, ndf * 8)

    def forward(self, x_var: torch.Tensor) -> torch.Tensor:
        x = self.img_code_s64(self.img_code_s32(self.img_code_s16(x_var)))
        return self.img_code_s64_2(self.img_code_s64_1(x))
