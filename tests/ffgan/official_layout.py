"""The official FF-GAN state-dict layouts (key → shape), written from docs/ffgan.md "Architecture",
"Discriminators" and "Parameter counts".

Used by the conversion tests to fabricate "official" checkpoints: the names follow the official module tree
(``G_NET``: ``ca_net``, ``h_net1`` = INIT_STAGE_G with ``fc`` / ``upsample1..4``, ``h_netN`` = NEXT_STAGE_G with
``w_att``, ``affine`` (ACM), ``s_att``, ``residual``, ``upsample`` and the unused DM-GAN memory modules,
``img_netN``; ``D_NETxx``: ``img_code_s16`` …, ``COND_DNET`` / ``UNCOND_DNET`` with DM-GAN's spectral norm storing
``weight_bar``, ``weight_u``, ``weight_v`` on ``*.module``).
"""

from __future__ import annotations

import torch


def _bn(table: dict, prefix: str, channels: int) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        table[f"{prefix}.{name}"] = (channels,)
    table[f"{prefix}.num_batches_tracked"] = ()


def generator_layout(
    ngf: int = 64, nef: int = 256, ncf: int = 100, z_dim: int = 100, r_num: int = 2, branches: int = 3,
    acm_hidden: int = 128, dead: bool = True,
) -> dict[str, tuple[int, ...]]:
    """Official ``G_NET`` keys and shapes (``acm_hidden`` is hard-wired to 128 in the official ACM)."""
    t: dict[str, tuple[int, ...]] = {"ca_net.fc.weight": (4 * ncf, nef), "ca_net.fc.bias": (4 * ncf,)}
    g16 = ngf * 16
    t["h_net1.fc.0.weight"] = (g16 * 4 * 4 * 2, ncf + z_dim)
    _bn(t, "h_net1.fc.1", g16 * 4 * 4 * 2)
    widths = [g16 // 2**i for i in range(5)]
    for k in range(1, 5):
        t[f"h_net1.upsample{k}.1.weight"] = (2 * widths[k], widths[k - 1], 3, 3)
        _bn(t, f"h_net1.upsample{k}.2", 2 * widths[k])
    t["img_net1.img.0.weight"] = (3, ngf, 3, 3)
    for n in range(2, branches + 1):
        p = f"h_net{n}"
        if dead:
            t[f"{p}.A.weight"] = (1, nef)
            t[f"{p}.B.weight"] = (1, ngf)
            t[f"{p}.M_r.0.weight"], t[f"{p}.M_r.0.bias"] = (2 * ngf, ngf, 1), (2 * ngf,)
            t[f"{p}.M_w.0.weight"], t[f"{p}.M_w.0.bias"] = (2 * ngf, nef, 1), (2 * ngf,)
            t[f"{p}.key.0.weight"], t[f"{p}.key.0.bias"] = (ngf, 2 * ngf, 1), (ngf,)
            t[f"{p}.value.0.weight"], t[f"{p}.value.0.bias"] = (ngf, 2 * ngf, 1), (ngf,)
            t[f"{p}.response_gate.0.weight"], t[f"{p}.response_gate.0.bias"] = (1, 2 * ngf, 1, 1), (1,)
        for i in range(r_num):
            t[f"{p}.residual.{i}.block.0.weight"] = (4 * ngf, 2 * ngf, 3, 3)
            _bn(t, f"{p}.residual.{i}.block.1", 4 * ngf)
            t[f"{p}.residual.{i}.block.3.weight"] = (2 * ngf, 2 * ngf, 3, 3)
            _bn(t, f"{p}.residual.{i}.block.4", 2 * ngf)
        t[f"{p}.upsample.1.weight"] = (2 * ngf, 2 * ngf, 3, 3)
        _bn(t, f"{p}.upsample.2", 2 * ngf)
        t[f"{p}.affine.conv.weight"] = (acm_hidden, ngf, 3, 3)
        t[f"{p}.affine.conv_weight.weight"] = (ngf, acm_hidden, 3, 3)
        t[f"{p}.affine.conv_bias.weight"] = (ngf, acm_hidden, 3, 3)
        t[f"{p}.w_att.conv_context.weight"] = (ngf, nef, 1, 1)
        t[f"{p}.s_att.conv_context.weight"] = (ngf, nef, 1, 1)
        t[f"img_net{n}.img.0.weight"] = (3, ngf, 3, 3)
    return t


def _sn(table: dict, prefix: str, out_ch: int, in_ch: int, k: int) -> None:
    table[f"{prefix}.module.bias"] = (out_ch,)
    table[f"{prefix}.module.weight_u"] = (out_ch,)
    table[f"{prefix}.module.weight_v"] = (in_ch * k * k,)
    table[f"{prefix}.module.weight_bar"] = (out_ch, in_ch, k, k)


def discriminator_layout(size: int, ndf: int = 32, nef: int = 256) -> dict[str, tuple[int, ...]]:
    """Official ``D_NET64/128/256`` keys and shapes (both heads built, ``b_jcu=True``)."""
    t: dict[str, tuple[int, ...]] = {}
    widths = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf]
    for i in range(4):
        _sn(t, f"img_code_s16.{2 * i}", widths[i + 1], widths[i], 4)
    if size == 128:
        _sn(t, "img_code_s32.0", 16 * ndf, 8 * ndf, 4)
        _sn(t, "img_code_s32_1.0", 8 * ndf, 16 * ndf, 3)
    if size == 256:
        _sn(t, "img_code_s32.0", 16 * ndf, 8 * ndf, 4)
        _sn(t, "img_code_s64.0", 32 * ndf, 16 * ndf, 4)
        _sn(t, "img_code_s64_1.0", 16 * ndf, 32 * ndf, 3)
        _sn(t, "img_code_s64_2.0", 8 * ndf, 16 * ndf, 3)
    _sn(t, "COND_DNET.jointConv.0", 8 * ndf, 8 * ndf + nef, 3)
    for head in ("COND_DNET", "UNCOND_DNET"):
        t[f"{head}.outlogits.0.weight"] = (1, 8 * ndf, 4, 4)
        t[f"{head}.outlogits.0.bias"] = (1,)
    return t


def count(table: dict[str, tuple[int, ...]], skip=("running_", "num_batches", "weight_u", "weight_v")) -> int:
    """Number of trainable parameters in a layout (buffers and SN vectors excluded)."""
    total = 0
    for key, shape in table.items():
        if any(s in key for s in skip):
            continue
        total += int(torch.Size(shape).numel())
    return total


def random_state(table: dict[str, tuple[int, ...]], seed: int = 0, scale: float = 1.0) -> dict[str, torch.Tensor]:
    """A fabricated official checkpoint: random weights (std ``scale / sqrt(fan_in)``, so activations stay O(1)),
    positive running variances, unit-norm SN vectors."""
    g = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for key, shape in table.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(7, dtype=torch.long)
        elif key.endswith("running_var"):
            out[key] = 0.5 + torch.rand(shape, generator=g)
        elif key.endswith(("weight_u", "weight_v")):
            v = torch.randn(shape, generator=g)
            out[key] = v / v.norm()
        elif key.endswith(".weight") and len(shape) == 1:  # BatchNorm gamma
            out[key] = 1.0 + scale * torch.randn(shape, generator=g)
        elif len(shape) >= 2:
            fan_in = int(torch.Size(shape[1:]).numel())
            out[key] = scale / fan_in**0.5 * torch.randn(shape, generator=g)
        else:
            out[key] = 0.1 * scale * torch.randn(shape, generator=g)
    return out
