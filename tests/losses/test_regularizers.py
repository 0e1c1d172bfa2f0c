"""MA-GP against closed-form gradients of hand-made discriminators (docs/ffgan.md "DF-GAN") and the CA KL term
(docs/ffgan.md "KL term")."""

from __future__ import annotations

import math

import pytest
import torch

from fusionblocks import create
from fusionblocks.losses import KLLoss, MAGPLoss, kl_ca, ma_gp


def _linear_case(batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(batch, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    sentence = torch.randn(batch, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    u = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    return images, sentence, w, u


@pytest.mark.parametrize("form", ["joint", "paper"])
@pytest.mark.parametrize(("k", "p"), [(2.0, 6.0), (1.0, 2.0), (0.5, 3.0)])
def test_ma_gp_linear_discriminator_closed_form(form, k, p):
    # D(x, s) = <w, x> + <u, s> + 1 per sample: ∇x = w, ∇s = u for every sample.
    images, sentence, w, u = _linear_case()
    outputs = (images * w).sum(dim=(1, 2, 3)) + sentence @ u + 1.0
    out = ma_gp(outputs, (images, sentence), k=k, p=p, form=form)
    nw, nu = w.norm().item(), u.norm().item()
    norm = math.sqrt(nw**2 + nu**2) if form == "joint" else nw + nu
    assert out.loss.item() == pytest.approx(k * norm**p, rel=1e-10)
    torch.testing.assert_close(out.grad_norm, torch.full((3,), norm, dtype=torch.float64))

    # differentiable (create_graph): d loss / d w in closed form
    out.loss.backward()
    if form == "joint":
        expected_w = k * p * norm ** (p - 2) * w.detach()
    else:
        expected_w = k * p * norm ** (p - 1) * w.detach() / nw
    torch.testing.assert_close(w.grad, expected_w, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("form", ["joint", "paper"])
def test_ma_gp_per_sample_norms_are_averaged(form):
    # D(x, s) = ½ a ‖x‖² + <u, s>: ∇x_b = a x_b (a different norm per sample), ∇s_b = u.
    images, sentence, _, u = _linear_case(batch=4, seed=1)
    a = 0.7
    outputs = 0.5 * a * images.pow(2).sum(dim=(1, 2, 3)) + sentence @ u
    out = ma_gp(outputs, [images, sentence], form=form)
    expected = 0.0
    for b in range(4):
        gx = a * images[b].detach().norm().item()
        gs = u.detach().norm().item()
        norm = math.sqrt(gx**2 + gs**2) if form == "joint" else gx + gs
        expected += 2.0 * norm**6 / 4
    assert out.loss.item() == pytest.approx(expected, rel=1e-10)


def test_ma_gp_zero_gradient_stays_finite():
    x = torch.zeros(2, 3, requires_grad=True)
    s = torch.zeros(2, 2, requires_grad=True)
    outputs = x.pow(2).sum(1) + s.pow(2).sum(1)  # gradient 0 at the origin
    out = ma_gp(outputs, (x, s))
    out.loss.backward()
    assert out.loss.item() == 0.0 and torch.isfinite(x.grad).all()


def test_ma_gp_errors_name_the_argument():
    x = torch.randn(2, 3, requires_grad=True)
    s = torch.randn(2, 2, requires_grad=True)
    with pytest.raises(ValueError, match=r"inputs\[1\]"):
        ma_gp(x.sum(1), (x, s))  # s unused
    with pytest.raises(ValueError, match=r"inputs\[0\]"):
        ma_gp(x.sum(1), (torch.randn(2, 3), s))  # no grad
    with pytest.raises(ValueError, match=r"inputs\[1\]"):
        ma_gp(x.sum(1), (x, torch.randn(3, 2, requires_grad=True)))
    with pytest.raises(ValueError, match="form"):
        ma_gp(x.sum(1), (x,), form="sum")
    with pytest.raises(ValueError, match="outputs"):
        ma_gp(torch.randn(2), (x,))


def test_ma_gp_registered_module():
    images, sentence, w, u = _linear_case()
    outputs = (images * w).sum(dim=(1, 2, 3)) + sentence @ u
    module = create("loss", "loss.ma_gp", k=1.0, p=2.0, form="paper")
    out = module(outputs, (images, sentence))
    assert isinstance(out, MAGPLoss)
    assert out.loss.item() == pytest.approx((w.norm() + u.norm()).item() ** 2, rel=1e-10)


def test_kl_known_answers():
    assert kl_ca(torch.zeros(4, 100), torch.zeros(4, 100)).loss.item() == 0.0
    # μ = 1, σ² = 1: per-element KL ½ μ² = 0.5, averaged (not summed) over dims
    assert kl_ca(torch.ones(2, 10), torch.zeros(2, 10)).loss.item() == pytest.approx(0.5)


def test_kl_matches_closed_form_kl_of_normals():
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(5, 7, generator=g, dtype=torch.float64)
    logvar = torch.randn(5, 7, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).mean()
    out = create("loss", "loss.kl_ca")(mu, logvar)
    assert isinstance(out, KLLoss)
    torch.testing.assert_close(out.loss, expected)
    with pytest.raises(ValueError, match="logvar"):
        kl_ca(mu, logvar[:, :3])
