"""BCE stage losses and hinge losses against hand computations from docs/ffgan.md "Discriminator loss", docs/ffgan.md
"Generator loss" and docs/ffgan.md "DF-GAN"."""

from __future__ import annotations

import math

import pytest
import torch

from fusionblocks import create
from fusionblocks.losses import (
    StageDLoss,
    bce_stage_d,
    bce_stage_d_from_heads,
    bce_stage_g,
    hinge_d,
    hinge_g,
    mismatch_pairs,
    roll_mismatch,
)


def hand_bce(logits, label: float) -> float:
    """−mean[y log σ(x) + (1 − y) log(1 − σ(x))], element by element in Python floats."""
    values = [float(x) for x in torch.as_tensor(logits).flatten()]
    total = 0.0
    for x in values:
        p = 1.0 / (1.0 + math.exp(-x))
        total += -(label * math.log(p) + (1.0 - label) * math.log(1.0 - p))
    return total / len(values)


def _logits(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2.0


def test_bce_stage_d_with_unconditional_head():
    rc, fc, wc, ru, fu = _logits(5, seed=1), _logits(5, seed=2), _logits(4, seed=3), _logits(5, seed=4), _logits(5, seed=5)
    out = bce_stage_d(rc, fc, wc, ru, fu)
    cond_real, cond_fake, cond_wrong = hand_bce(rc, 1), hand_bce(fc, 0), hand_bce(wc, 0)
    real_u, fake_u = hand_bce(ru, 1), hand_bce(fu, 0)
    expected = 0.5 * (real_u + cond_real) + (fake_u + cond_fake + cond_wrong) / 3.0
    assert out.loss.item() == pytest.approx(expected, rel=1e-10)
    assert out.cond_wrong.item() == pytest.approx(cond_wrong, rel=1e-10)
    assert out.real_uncond.item() == pytest.approx(real_u, rel=1e-10)
    assert out.fake_uncond.item() == pytest.approx(fake_u, rel=1e-10)


def test_bce_stage_d_fallback_without_unconditional_head():
    rc, fc, wc = _logits(4, seed=6), _logits(4, seed=7), _logits(3, seed=8)
    out = bce_stage_d(rc, fc, wc)
    expected = hand_bce(rc, 1) + 0.5 * (hand_bce(fc, 0) + hand_bce(wc, 0))
    assert out.loss.item() == pytest.approx(expected, rel=1e-10)
    assert out.real_uncond is None and out.fake_uncond is None


def test_bce_equals_official_sigmoid_bceloss():
    x = _logits(6, seed=9)
    official = torch.nn.BCELoss()(torch.sigmoid(x), torch.ones_like(x))
    torch.testing.assert_close(bce_stage_g(x).loss, official)


def test_bce_stays_finite_for_saturated_logits():
    x = torch.tensor([-200.0, 300.0], requires_grad=True)
    out = bce_stage_d(x, -x, x[:1])
    out.loss.backward()
    assert torch.isfinite(out.loss) and torch.isfinite(x.grad).all()
    assert out.cond_real.item() == pytest.approx(100.0, rel=1e-6)  # mean(200, 0)


def test_bce_stage_d_patch_logits_are_averaged():
    rc, fc, wc = _logits(3, 1, 2, 2, seed=10), _logits(3, 1, 2, 2, seed=11), _logits(2, 1, 2, 2, seed=12)
    out = bce_stage_d(rc, fc, wc)
    assert out.cond_real.item() == pytest.approx(hand_bce(rc, 1), rel=1e-10)


def test_bce_stage_d_empty_wrong_and_argument_errors():
    rc, fc = _logits(1, seed=13), _logits(1, seed=14)
    out = bce_stage_d(rc, fc, torch.zeros(0, dtype=torch.float64))
    assert out.cond_wrong.item() == 0.0
    assert out.loss.item() == pytest.approx(hand_bce(rc, 1) + 0.5 * hand_bce(fc, 0), rel=1e-10)
    with pytest.raises(ValueError, match="fake_uncond"):
        bce_stage_d(rc, fc, rc, real_uncond=rc)
    with pytest.raises(TypeError, match="real_cond"):
        bce_stage_d([0.0], fc, rc)
    with pytest.raises(TypeError, match="fake_cond"):
        bce_stage_d(rc, torch.zeros(1, dtype=torch.long), rc)


def test_bce_stage_g():
    fc, fu = _logits(4, seed=15), _logits(4, seed=16)
    out = bce_stage_g(fc, fu)
    assert out.loss.item() == pytest.approx(hand_bce(fc, 1) + hand_bce(fu, 1), rel=1e-10)
    assert bce_stage_g(fc).loss.item() == pytest.approx(hand_bce(fc, 1), rel=1e-10)


def test_mismatch_pairs():
    image, caption = mismatch_pairs(5)
    assert image.tolist() == [0, 1, 2, 3] and caption.tolist() == [1, 2, 3, 4]
    image, caption = mismatch_pairs(5, class_ids=[3, 3, 1, 1, 2], skip_same_class=True)
    assert image.tolist() == [1, 3] and caption.tolist() == [2, 4]
    image, caption = mismatch_pairs(5, class_ids=[3, 3, 1, 1, 2])  # official: classes ignored
    assert image.tolist() == [0, 1, 2, 3]
    assert mismatch_pairs(1)[0].numel() == 0
    with pytest.raises(ValueError, match="class_ids"):
        mismatch_pairs(3, skip_same_class=True)
    with pytest.raises(ValueError, match="class_ids"):
        mismatch_pairs(3, class_ids=[0, 1])


@pytest.mark.parametrize("with_uncond", [True, False])
@pytest.mark.parametrize("skip", [True, False])
def test_bce_stage_d_from_heads_pairs_image_j_with_caption_j_plus_1(with_uncond, skip):
    batch, channels, dim = 5, 3, 4
    g = torch.Generator().manual_seed(17)
    real = torch.randn(batch, channels, 2, 2, generator=g, dtype=torch.float64)
    fake = torch.randn(batch, channels, 2, 2, generator=g, dtype=torch.float64)
    sentence = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    w_img = torch.randn(channels, generator=g, dtype=torch.float64)
    w_txt = torch.randn(dim, generator=g, dtype=torch.float64)
    class_ids = torch.tensor([0, 0, 1, 2, 2])

    def cond_head(features, sent):
        return features.mean(dim=(2, 3)) @ w_img + sent @ w_txt

    def uncond_head(features):
        return features.mean(dim=(2, 3)) @ w_img

    out = bce_stage_d_from_heads(
        real, fake, sentence, cond_head, uncond_head if with_uncond else None, class_ids=class_ids, skip_same_class=skip
    )
    wrong = [
        float(cond_head(real[j : j + 1], sentence[j + 1 : j + 2])[0])
        for j in range(batch - 1)
        if not (skip and class_ids[j] == class_ids[j + 1])
    ]
    assert len(wrong) == (2 if skip else 4)
    assert out.cond_wrong.item() == pytest.approx(hand_bce(torch.tensor(wrong, dtype=torch.float64), 0), rel=1e-10)
    cond_real, cond_fake = hand_bce(cond_head(real, sentence), 1), hand_bce(cond_head(fake, sentence), 0)
    if with_uncond:
        expected = 0.5 * (hand_bce(uncond_head(real), 1) + cond_real) + (
            hand_bce(uncond_head(fake), 0) + cond_fake + hand_bce(torch.tensor(wrong, dtype=torch.float64), 0)
        ) / 3.0
    else:
        expected = cond_real + 0.5 * (cond_fake + hand_bce(torch.tensor(wrong, dtype=torch.float64), 0))
    assert out.loss.item() == pytest.approx(expected, rel=1e-10)


def test_hinge_d_and_g():
    real, fake, mis = _logits(6, seed=18), _logits(6, seed=19), _logits(6, seed=20)
    out = hinge_d(real, fake, mis)

    def mean(values):
        values = [float(v) for v in values]
        return sum(values) / len(values)

    r = mean(max(0.0, 1.0 - float(x)) for x in real)
    f = mean(max(0.0, 1.0 + float(x)) for x in fake)
    m = mean(max(0.0, 1.0 + float(x)) for x in mis)
    assert out.loss.item() == pytest.approx(r + 0.5 * (f + m), rel=1e-10)
    assert (out.real.item(), out.fake.item(), out.mismatch.item()) == pytest.approx((r, f, m), rel=1e-10)
    assert hinge_g(fake).loss.item() == pytest.approx(-mean(fake), rel=1e-10)


def test_roll_mismatch_pairs_sentence_i_with_image_i_plus_1():
    x = torch.arange(4)[:, None].expand(4, 3)
    assert roll_mismatch(x)[:, 0].tolist() == [1, 2, 3, 0]
    assert roll_mismatch(x, shifts=2)[:, 0].tolist() == [2, 3, 0, 1]
    with pytest.raises(TypeError, match="x"):
        roll_mismatch([1, 2])


def test_registered_adversarial_modules():
    rc, fc, wc = _logits(3, seed=21), _logits(3, seed=22), _logits(2, seed=23)
    out = create("loss", "loss.bce_stage_d")(rc, fc, wc)
    assert isinstance(out, StageDLoss)
    torch.testing.assert_close(out.loss, bce_stage_d(rc, fc, wc).loss)
    torch.testing.assert_close(create("loss", "loss.bce_stage_g")(fc).loss, bce_stage_g(fc).loss)
    torch.testing.assert_close(create("loss", "loss.hinge_d")(rc, fc, wc[:1]).loss, hinge_d(rc, fc, wc[:1]).loss)
    torch.testing.assert_close(create("loss", "loss.hinge_g")(fc).loss, hinge_g(fc).loss)


def test_every_loss_is_registered():
    from fusionblocks import list_components

    expected = {
        "loss.damsm_words",
        "loss.damsm_sentence",
        "loss.bce_stage_d",
        "loss.bce_stage_g",
        "loss.hinge_d",
        "loss.hinge_g",
        "loss.ma_gp",
        "loss.kl_ca",
    }
    assert expected <= set(list_components("loss"))
