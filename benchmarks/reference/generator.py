"""Reference FF-GAN generator (official formulation, docs/ffgan.md "Architecture"). Benchmarks only.

Words are ``(B, D, T)`` as in the official code. Attention is bmm + an explicit softmax on a 2-D view (no SDPA), the
layout is NCHW, the CA noise is sampled in every mode, the padded-word mask is passed but not applied (docs/ffgan.md
"Padded-word masking"), and the
upsampling modules are built as ``nn.Upsample`` modules. The unused DM-GAN memory sub-modules (docs/ffgan.md
"Refinement stage", "dead
parameters") are not built: they never take part in the computation.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ACM", "CA_NET", "G_NET", "INIT_STAGE_G", "NEXT_STAGE_G", "SentenceAttention", "WordAttention"]


class GLU(nn.Module):
    """``a * sigmoid(b)`` over the two channel halves.

    Shapes:
        - x: ``(B, 2C, *)``; output ``(B, C, *)``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nc = x.size(1) // 2
        return x[:, :nc] * torch.sigmoid(x[:, nc:])


def conv1x1(in_planes: int, out_planes: int, bias: bool = False) -> nn.Conv2d:
    """1×1 convolution (no bias by default)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=1, padding=0, bias=bias)


def conv3x3(in_planes: int, out_planes: int, bias: bool = False) -> nn.Conv2d:
    """3×3 convolution, stride 1, pad 1 (no bias by default)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=bias)


def up_block(in_planes: int, out_planes: int) -> nn.Sequential:
    """Nearest ×2 → conv3x3(in → 2·out) → BN → GLU.

    Shapes:
        - x: ``(B, in, H, W)``; output ``(B, out, 2H, 2W)``.
    """
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        conv3x3(in_planes, out_planes * 2),
        nn.BatchNorm2d(out_planes * 2),
        GLU(),
    )


class ResBlock(nn.Module):
    """``x + BN(conv(GLU(BN(conv(x)))))``.

    Shapes:
        - x: ``(B, C, H, W)``; output ``(B, C, H, W)``.
    """

    def __init__(self, channel_num: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            conv3x3(channel_num, channel_num * 2),
            nn.BatchNorm2d(channel_num * 2),
            GLU(),
            conv3x3(channel_num, channel_num),
            nn.BatchNorm2d(channel_num),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + x


class GET_IMAGE_G(nn.Module):
    """conv3x3(ngf → 3) → tanh.

    Shapes:
        - h: ``(B, ngf, H, W)``; output ``(B, 3, H, W)``.
    """

    def __init__(self, ngf: int) -> None:
        super().__init__()
        self.img = nn.Sequential(conv3x3(ngf, 3), nn.Tanh())

    def forward(self, h_code: torch.Tensor) -> torch.Tensor:
        return self.img(h_code)


class CA_NET(nn.Module):
    """Conditioning augmentation; samples ε in every mode (official behaviour, docs/ffgan.md "Conditioning
    augmentation").

    Shapes:
        - text_embedding: ``(B, t_dim)``; outputs c, mu, logvar ``(B, c_dim)`` each.
    """

    def __init__(self, t_dim: int = 256, c_dim: int = 100) -> None:
        super().__init__()
        self.t_dim = t_dim
        self.c_dim = c_dim
        self.fc = nn.Linear(self.t_dim, self.c_dim * 4, bias=True)
        self.relu = GLU()

    def encode(self, text_embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.relu(self.fc(text_embedding))
        return x[:, : self.c_dim], x[:, self.c_dim :]

    def reparametrize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = logvar.mul(0.5).exp_()
        eps = torch.randn(std.size(), device=std.device, dtype=std.dtype)
        return eps.mul(std).add_(mu)

    def forward(self, text_embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(text_embedding)
        return self.reparametrize(mu, logvar), mu, logvar


class INIT_STAGE_G(nn.Module):
    """fc([c; z]) → BN1d → GLU → 4×4 → four up blocks (docs/ffgan.md "Initial stage").

    Shapes:
        - z: ``(B, nz)``; c: ``(B, ncf)``; output ``(B, ngf/16, 64, 64)``.
    """

    def __init__(self, ngf: int, ncf: int, nz: int = 100) -> None:
        super().__init__()
        self.gf_dim = ngf
        self.fc = nn.Sequential(
            nn.Linear(nz + ncf, ngf * 4 * 4 * 2, bias=False), nn.BatchNorm1d(ngf * 4 * 4 * 2), GLU()
        )
        self.upsample1 = up_block(ngf, ngf // 2)
        self.upsample2 = up_block(ngf // 2, ngf // 4)
        self.upsample3 = up_block(ngf // 4, ngf // 8)
        self.upsample4 = up_block(ngf // 8, ngf // 16)

    def forward(self, z_code: torch.Tensor, c_code: torch.Tensor) -> torch.Tensor:
        c_z_code = torch.cat((c_code, z_code), 1)
        out_code = self.fc(c_z_code).view(-1, self.gf_dim, 4, 4)
        out_code = self.upsample1(out_code)
        out_code = self.upsample2(out_code)
        out_code = self.upsample3(out_code)
        return self.upsample4(out_code)


class WordAttention(nn.Module):
    """Official word attention: bmm logits, softmax over words on a 2-D view, bmm context (docs/ffgan.md "Refinement
    stage").

    Shapes:
        - x: ``(B, idf, H, W)``; context (words): ``(B, cdf, T)``.
        - outputs: weighted context ``(B, idf, H, W)``, attention ``(B, T, H, W)``.
    """

    def __init__(self, idf: int, cdf: int) -> None:
        super().__init__()
        self.conv_context = conv1x1(cdf, idf)
        self.sm = nn.Softmax(dim=1)
        self.mask: torch.Tensor | None = None

    def applyMask(self, mask: torch.Tensor) -> None:  # noqa: N802 (official name)
        """Set a ``(B, T)`` bool mask (True = padding); FF-GAN never calls this."""
        self.mask = mask

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ih, iw = x.size(2), x.size(3)
        query_l = ih * iw
        batch_size, source_l = context.size(0), context.size(2)
        target = x.view(batch_size, -1, query_l)
        target_t = torch.transpose(target, 1, 2).contiguous()  # B × Q × idf
        source_t = self.conv_context(context.unsqueeze(3)).squeeze(3)  # B × idf × T
        attn = torch.bmm(target_t, source_t)  # B × Q × T
        attn = attn.view(batch_size * query_l, source_l)
        if self.mask is not None:
            mask = self.mask.repeat(query_l, 1)
            attn = attn.masked_fill(mask, -float("inf"))
        attn = self.sm(attn)
        attn = attn.view(batch_size, query_l, source_l)
        attn = torch.transpose(attn, 1, 2).contiguous()  # B × T × Q
        weighted_context = torch.bmm(source_t, attn)  # B × idf × Q
        weighted_context = weighted_context.view(batch_size, -1, ih, iw)
        return weighted_context, attn.view(batch_size, -1, ih, iw)


class ACM(nn.Module):
    """``x * conv(conv(img)) + conv(conv(img))`` (docs/ffgan.md "Refinement stage").

    Shapes:
        - x: ``(B, C, H, W)``; img (the word context): ``(B, Cc, H, W)``; output ``(B, C, H, W)``.
    """

    def __init__(self, channel_num: int, cond_channels: int | None = None) -> None:
        super().__init__()
        cond = channel_num if cond_channels is None else cond_channels
        self.conv = conv3x3(cond, 2 * channel_num)
        self.conv_weight = conv3x3(2 * channel_num, channel_num)
        self.conv_bias = conv3x3(2 * channel_num, channel_num)

    def forward(self, x: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        out_code = self.conv(img)
        return x * self.conv_weight(out_code) + self.conv_bias(out_code)


class SentenceAttention(nn.Module):
    """Per-channel spatial softmax of ``h * s'`` times ``s'`` (docs/ffgan.md "Refinement stage").

    Shapes:
        - x: ``(B, idf, H, W)``; sentence: ``(B, cdf)``; output ``(B, idf, H, W)``.
    """

    def __init__(self, idf: int, cdf: int) -> None:
        super().__init__()
        self.conv_sentence = conv1x1(cdf, idf)
        self.sm = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        batch_size, idf, ih, iw = x.shape
        query_l = ih * iw
        source_t = self.conv_sentence(sentence.unsqueeze(2).unsqueeze(3)).squeeze(3)  # B × idf × 1
        target = x.view(batch_size, idf, query_l)
        attn = target * source_t  # B × idf × Q
        attn = self.sm(attn.view(batch_size * idf, query_l)).view(batch_size, idf, query_l)
        weighted = source_t * attn
        return weighted.view(batch_size, idf, ih, iw)


class NEXT_STAGE_G(nn.Module):
    """Refinement stage: word attention → ACM, sentence attention, concat, residual trunk, up block (docs/ffgan.md
    "Refinement stage").

    Shapes:
        - h: ``(B, ngf, H, W)``; sentence ``(B, nef)``; words ``(B, nef, T)``.
        - outputs: ``(B, ngf, 2H, 2W)`` and the attention ``(B, T, H, W)``.
    """

    def __init__(self, ngf: int, nef: int, ncf: int, r_num: int = 2) -> None:
        super().__init__()
        self.gf_dim = ngf
        self.ef_dim = nef
        self.cf_dim = ncf
        self.att = WordAttention(ngf, nef)
        self.acm = ACM(ngf)
        self.satt = SentenceAttention(ngf, nef)
        self.residual = nn.Sequential(*[ResBlock(ngf * 2) for _ in range(r_num)])
        self.upsample = up_block(ngf * 2, ngf)

    def forward(
        self,
        h_code: torch.Tensor,
        c_code: torch.Tensor,
        sent_emb: torch.Tensor,
        word_embs: torch.Tensor,
        mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # self.att.applyMask(mask)  -- disabled in the official FF-GAN (docs/ffgan.md "Padded-word masking")
        c_w, att = self.att(h_code, word_embs)
        h_f = self.acm(h_code, c_w)
        o = self.satt(h_code, sent_emb)
        out_code = self.residual(torch.cat((h_f, o), 1))
        return self.upsample(out_code), att


class G_NET(nn.Module):
    """Three-stage FF-GAN generator (docs/ffgan.md "Architecture").

    Args:
        ngf: GF_DIM (64 for CUB). The initial stage works at ``16·ngf`` channels.
        nef: Text embedding width (256).
        ncf: CA code width (100).
        nz: Noise width (100).
        r_num: Residual blocks per refinement stage (2 CUB, 3 COCO).

    Shapes:
        - z ``(B, nz)``, sent_emb ``(B, nef)``, word_embs ``(B, nef, T)``, mask ``(B, T)`` (unused).
        - outputs: images ``[(B,3,64,64), (B,3,128,128), (B,3,256,256)]``, attention maps, mu, logvar.
    """

    def __init__(self, ngf: int = 64, nef: int = 256, ncf: int = 100, nz: int = 100, r_num: int = 2) -> None:
        super().__init__()
        self.ca_net = CA_NET(nef, ncf)
        self.h_net1 = INIT_STAGE_G(ngf * 16, ncf, nz)
        self.img_net1 = GET_IMAGE_G(ngf)
        self.h_net2 = NEXT_STAGE_G(ngf, nef, ncf, r_num)
        self.img_net2 = GET_IMAGE_G(ngf)
        self.h_net3 = NEXT_STAGE_G(ngf, nef, ncf, r_num)
        self.img_net3 = GET_IMAGE_G(ngf)

    def forward(
        self,
        z_code: torch.Tensor,
        sent_emb: torch.Tensor,
        word_embs: torch.Tensor,
        mask: torch.Tensor | None = None,
        cap_lens: torch.Tensor | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor, torch.Tensor]:
        fake_imgs = []
        att_maps = []
        c_code, mu, logvar = self.ca_net(sent_emb)
        h_code1 = self.h_net1(z_code, c_code)
        fake_imgs.append(self.img_net1(h_code1))
        h_code2, att1 = self.h_net2(h_code1, c_code, sent_emb, word_embs, mask)
        fake_imgs.append(self.img_net2(h_code2))
        att_maps.append(att1)
        h_code3, att2 = self.h_net3(h_code2, c_code, sent_emb, word_embs, mask)
        fake_imgs.append(self.img_net3(h_code3))
        att_maps.append(att2)
        return fake_imgs, att_maps, mu, logvar
