"""Official FF-GAN checkpoints → our models: key maps, shapes, and forward equivalence with the official math."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fusionblocks.ffgan import (
    build_ffgan,
    convert_official_discriminator,
    load_official,
    official_discriminator_image_size,
    official_generator_config,
)
from fusionblocks.models import StackedGenerator, StageDiscriminator
from fusionblocks.models.spectral import conv2d

from .official_layout import count, discriminator_layout, generator_layout, random_state

# ------------------------------------------------------------- layouts vs docs/ffgan.md "Parameter counts"


def test_layout_tables_reproduce_the_spec_parameter_counts() -> None:
    cub = generator_layout(r_num=2)
    assert count(cub) == 21_956_946  # as built, with the dead DM-GAN modules (docs/ffgan.md "Parameter counts")
    dead = count(cub) - count(generator_layout(r_num=2, dead=False))
    assert dead == 2 * 58_177
    assert count(generator_layout(r_num=3)) == 22_843_218
    per_d = [count(discriminator_layout(s)) for s in (64, 128, 256)]
    assert per_d == [1_878_242, 5_155_810, 18_264_546]
    with_uv = [count(discriminator_layout(s), skip=()) for s in (64, 128, 256)]
    assert with_uv == [1_887_218, 5_174_258, 18_301_938]


@pytest.mark.parametrize("preset,r_num", [("cub256", 2), ("coco256", 3)])
def test_full_size_generator_keys_and_shapes(preset: str, r_num: int) -> None:
    gan = build_ffgan(preset, model={"init": "default"}, image={"encoder": None})
    ours = gan.generator.state_dict()
    layout = generator_layout(r_num=r_num)
    official = {k: torch.empty(s) if s else torch.tensor(0) for k, s in layout.items()}
    converted = load_official(official)
    assert set(converted) == set(ours), (set(converted) ^ set(ours))
    for key, value in converted.items():
        assert tuple(value.shape) == tuple(ours[key].shape), key
    result = gan.generator.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the trainable parameters are the official ones minus the dead memory modules (docs/ffgan.md "Parameter counts")
    assert sum(p.numel() for p in gan.generator.parameters()) == count(generator_layout(r_num=r_num, dead=False))


@pytest.mark.parametrize("size", [64, 128, 256])
def test_full_size_discriminator_keys_and_shapes(size: int) -> None:
    d = StageDiscriminator(size, ndf=32, sentence_dim=256)
    layout = discriminator_layout(size)
    official = random_state(layout, seed=size)
    assert official_discriminator_image_size(official) == size
    converted = load_official(official)
    ours = d.state_dict()
    assert set(converted) == set(ours), set(converted) ^ set(ours)
    for key, value in converted.items():
        assert value.shape == ours[key].shape, key
    d.load_state_dict(converted, strict=True)
    # SN u/v are buffers with torch's parametrization: parameters() counts exactly the trainable part
    assert sum(p.numel() for p in d.parameters()) == count(layout)


# -------------------------------------------------------- reference forward (docs/ffgan.md "Architecture")


def _glu(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return a * torch.sigmoid(b)


def _bn(x: torch.Tensor, p: dict, prefix: str) -> torch.Tensor:
    return F.batch_norm(
        x, p[f"{prefix}.running_mean"], p[f"{prefix}.running_var"], p[f"{prefix}.weight"], p[f"{prefix}.bias"],
        training=False, eps=1e-5,
    )


def _up(x: torch.Tensor, p: dict, prefix: str) -> torch.Tensor:
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    return _glu(_bn(F.conv2d(x, p[f"{prefix}.1.weight"], padding=1), p, f"{prefix}.2"))


def official_generator_forward(p: dict, z, sent, words_bdt, ncf: int, r_num: int, branches: int):
    """G_NET.forward in eval mode with the CA noise at zero (c = μ), as plain tensor code (docs/ffgan.md "What the
    blocks compute")."""
    x = _glu(F.linear(sent, p["ca_net.fc.weight"], p["ca_net.fc.bias"]))
    mu, logvar = x[:, :ncf], x[:, ncf:]
    c = mu
    batch = z.shape[0]
    h = F.linear(torch.cat([c, z], 1), p["h_net1.fc.0.weight"])
    h = _glu(F.batch_norm(h, p["h_net1.fc.1.running_mean"], p["h_net1.fc.1.running_var"], p["h_net1.fc.1.weight"],
                          p["h_net1.fc.1.bias"], training=False, eps=1e-5))
    h = h.view(batch, -1, 4, 4)
    for k in range(1, 5):
        h = _up(h, p, f"h_net1.upsample{k}")
    images = [torch.tanh(F.conv2d(h, p["img_net1.img.0.weight"], padding=1))]
    maps = []
    for n in range(2, branches + 1):
        q = f"h_net{n}"
        bsz, ch, hh, ww = h.shape
        e = torch.einsum("cd,bdt->bct", p[f"{q}.w_att.conv_context.weight"][:, :, 0, 0], words_bdt)  # B×C×T
        target_t = h.view(bsz, ch, hh * ww).transpose(1, 2)  # B×Q×C
        beta = torch.softmax(torch.bmm(target_t, e), dim=2)  # softmax over words, unmasked (official)
        cw = torch.bmm(e, beta.transpose(1, 2)).view(bsz, ch, hh, ww)
        maps.append(beta.transpose(1, 2).reshape(bsz, -1, hh, ww))
        u = F.conv2d(cw, p[f"{q}.affine.conv.weight"], padding=1)
        hf = h * F.conv2d(u, p[f"{q}.affine.conv_weight.weight"], padding=1) + F.conv2d(
            u, p[f"{q}.affine.conv_bias.weight"], padding=1
        )
        s_proj = sent @ p[f"{q}.s_att.conv_context.weight"][:, :, 0, 0].t()  # B×C
        g = h.view(bsz, ch, hh * ww) * s_proj[:, :, None]
        o = (s_proj[:, :, None] * torch.softmax(g, dim=2)).view(bsz, ch, hh, ww)
        x = torch.cat([hf, o], 1)
        for i in range(r_num):
            r = _glu(_bn(F.conv2d(x, p[f"{q}.residual.{i}.block.0.weight"], padding=1), p, f"{q}.residual.{i}.block.1"))
            x = x + _bn(F.conv2d(r, p[f"{q}.residual.{i}.block.3.weight"], padding=1), p, f"{q}.residual.{i}.block.4")
        h = _up(x, p, f"{q}.upsample")
        images.append(torch.tanh(F.conv2d(h, p[f"img_net{n}.img.0.weight"], padding=1)))
    return images, maps, mu, logvar


def test_converted_generator_computes_the_official_forward() -> None:
    # shrunk official layout: ngf 8, nef 16, ncf 6, z 10, R_NUM 2, 3 branches (64², 128², 256²), ACM hidden 2·ngf
    ngf, nef, ncf, zd, r_num = 8, 16, 6, 10, 2
    layout = generator_layout(ngf=ngf, nef=nef, ncf=ncf, z_dim=zd, r_num=r_num, acm_hidden=2 * ngf)
    official = random_state(layout, seed=1)
    config = official_generator_config(official)
    assert config == {
        "z_dim": zd, "sentence_dim": nef, "ngf": ngf, "cond_dim": ncf, "base_size": 64, "num_stages": 3,
        "res_blocks": r_num, "word_dim": nef, "stage_fusion": "ffgan.stage_fusion",
        "stage_fusion_kwargs": {"hidden_channels": 2 * ngf},
    }
    g = StackedGenerator(**config, mask_padding=False).eval()
    g.load_state_dict(load_official(official, kind="generator"), strict=True)

    batch, steps = 2, 5
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(batch, zd, generator=gen)
    sent = torch.randn(batch, nef, generator=gen)
    lengths = torch.tensor([5, 3])
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    words = torch.randn(batch, steps, nef, generator=gen) * mask[..., None]  # padded words are zero (official)
    with torch.no_grad():
        out = g(z, sent, words, mask, sample_ca=False)
        ref_images, ref_maps, ref_mu, ref_logvar = official_generator_forward(
            official, z, sent, words.transpose(1, 2), ncf, r_num, 3
        )
    assert [tuple(i.shape) for i in out.images] == [(2, 3, 64, 64), (2, 3, 128, 128), (2, 3, 256, 256)]
    for ours, ref in zip(out.images, ref_images):
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    for ours, ref in zip(out.attention, ref_maps):
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.mu, ref_mu, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.logvar, ref_logvar, atol=1e-5, rtol=1e-5)
    # the official (unmasked) attention gives padded words attention mass; a masked model does not
    assert out.attention[0][1, 3:].sum() > 0


def test_load_official_reads_files_and_strips_dataparallel_prefix(tmp_path) -> None:
    layout = generator_layout(ngf=4, nef=8, ncf=3, z_dim=5, r_num=1, acm_hidden=8, branches=2)
    official = random_state(layout, seed=2)
    path = tmp_path / "netG_epoch_650.pth"
    torch.save({f"module.{k}": v for k, v in official.items()}, path)
    converted = load_official(path)
    config = official_generator_config(official)
    g = StackedGenerator(**config)
    g.load_state_dict(converted, strict=True)
    torch.testing.assert_close(converted["stages.0.fusion.gsr.proj.weight"], official["h_net2.s_att.conv_context.weight"][:, :, 0, 0])
    torch.testing.assert_close(converted["init_stage.ups.3.norm.running_var"], official["h_net1.upsample4.2.running_var"])


def test_kind_mismatch_and_foreign_keys_raise() -> None:
    d_state = random_state(discriminator_layout(64, ndf=4, nef=8))
    with pytest.raises(ValueError, match="kind"):
        load_official(d_state, kind="generator")
    with pytest.raises(ValueError, match="unexpected keys"):
        load_official({**random_state(generator_layout(ngf=4, nef=8, ncf=3, z_dim=5, r_num=1, acm_hidden=8, branches=2)),
                       "h_net2.something_new.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="cannot tell"):
        load_official({"foo": torch.zeros(1)})
    with pytest.raises(TypeError, match="path_or_state_dict"):
        load_official(3)  # type: ignore[arg-type]


def test_attngan_generator_keys_map_onto_the_attngan_stage_fusion() -> None:
    table = generator_layout(ngf=4, nef=8, ncf=3, z_dim=5, r_num=1, branches=2, dead=False)
    for key in [k for k in table if ".affine." in k or ".s_att." in k]:
        del table[key]
    table["h_net2.att.conv_context.weight"] = table.pop("h_net2.w_att.conv_context.weight")
    official = random_state(table, seed=5)
    config = official_generator_config(official)
    assert config["stage_fusion"] == "attngan.stage_fusion"
    g = StackedGenerator(**config)
    g.load_state_dict(load_official(official), strict=True)


# ----------------------------------------------------------------------------------- discriminators and SN


def official_sn_weight(w_bar: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """DM-GAN's SpectralNorm forward: one power iteration, then W̄ / (uᵀ W̄ v) (docs/ffgan.md "Discriminators")."""
    mat = w_bar.view(w_bar.shape[0], -1)
    v = mat.t() @ u
    v = v / (v.norm() + 1e-12)
    u = mat @ v
    u = u / (u.norm() + 1e-12)
    return w_bar / torch.dot(u, mat @ v)


def official_discriminator_forward(p: dict, images: torch.Tensor, sent: torch.Tensor, size: int):
    def sn_conv(x, prefix, stride, pad):
        w = official_sn_weight(p[f"{prefix}.module.weight_bar"], p[f"{prefix}.module.weight_u"])
        return F.leaky_relu(F.conv2d(x, w, p[f"{prefix}.module.bias"], stride, pad), 0.2)

    h = images
    for i in range(4):
        h = sn_conv(h, f"img_code_s16.{2 * i}", 2, 1)
    if size == 128:
        h = sn_conv(sn_conv(h, "img_code_s32.0", 2, 1), "img_code_s32_1.0", 1, 1)
    if size == 256:
        h = sn_conv(sn_conv(h, "img_code_s32.0", 2, 1), "img_code_s64.0", 2, 1)
        h = sn_conv(sn_conv(h, "img_code_s64_1.0", 1, 1), "img_code_s64_2.0", 1, 1)
    tiled = sent[:, :, None, None].repeat(1, 1, 4, 4)
    joint = sn_conv(torch.cat([h, tiled], 1), "COND_DNET.jointConv.0", 1, 1)
    # the official heads end with a sigmoid; return the logits before it and the probabilities
    cond = F.conv2d(joint, p["COND_DNET.outlogits.0.weight"], p["COND_DNET.outlogits.0.bias"], 4).view(-1)
    uncond = F.conv2d(h, p["UNCOND_DNET.outlogits.0.weight"], p["UNCOND_DNET.outlogits.0.bias"], 4).view(-1)
    return cond, uncond, torch.sigmoid(cond), torch.sigmoid(uncond)


@pytest.mark.parametrize("size", [64, 128, 256])
def test_converted_discriminator_computes_the_official_forward(size: int) -> None:
    ndf, nef = 4, 8
    official = random_state(discriminator_layout(size, ndf=ndf, nef=nef), seed=size)
    d = StageDiscriminator(size, ndf=ndf, sentence_dim=nef).eval()
    d.load_state_dict(load_official(official, kind="discriminator"), strict=True)
    gen = torch.Generator().manual_seed(4)
    images = torch.rand(2, 3, size, size, generator=gen) * 2 - 1
    sent = torch.randn(2, nef, generator=gen)
    with torch.no_grad():
        out = d(images, sent)
        cond, uncond, p_cond, p_uncond = official_discriminator_forward(official, images, sent, size)
    # our heads return the logits; the official heads return sigmoid(logits)
    torch.testing.assert_close(out.cond, cond, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.uncond, uncond, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.sigmoid(out.cond), p_cond, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.sigmoid(out.uncond), p_uncond, atol=1e-5, rtol=1e-5)
    assert out.wrong is None and out.features.shape == (2, 8 * ndf, 4, 4)


def test_spectral_norm_conversion_matches_the_official_normalised_weight() -> None:
    gen = torch.Generator().manual_seed(7)
    w_bar = torch.randn(6, 5, 3, 3, generator=gen)
    u = torch.randn(6, generator=gen)
    u = u / u.norm()
    v = torch.randn(45, generator=gen)
    v = v / v.norm()
    official = {"img_code_s16.0.module.weight_bar": w_bar, "img_code_s16.0.module.weight_u": u,
                "img_code_s16.0.module.weight_v": v, "img_code_s16.0.module.bias": torch.zeros(6)}
    converted = convert_official_discriminator(official)
    conv = conv2d(5, 6, 3, 1, 1)
    conv.load_state_dict({k.removeprefix("encoder.0."): t for k, t in converted.items()}, strict=True)
    conv.eval()
    expected = official_sn_weight(w_bar, u)
    torch.testing.assert_close(conv.weight, expected, atol=1e-5, rtol=1e-5)
    # without the conversion-time power iteration the stored vectors give a different (stale) sigma
    raw = convert_official_discriminator(official, sn_power_iteration=False)
    conv.load_state_dict({k.removeprefix("encoder.0."): t for k, t in raw.items()}, strict=True)
    assert not torch.allclose(conv.weight, expected, atol=1e-4)
    # in training mode both run a power iteration per forward and converge to the largest singular value
    conv.train()
    for _ in range(60):
        conv.weight  # noqa: B018 - each access runs one power iteration
    sigma = torch.linalg.matrix_norm(w_bar.view(6, -1), ord=2)
    torch.testing.assert_close(conv.weight, w_bar / sigma, atol=1e-4, rtol=1e-4)
