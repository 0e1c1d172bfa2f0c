"""The recipes against iterations re-computed in the test from the published formulas (docs/ffgan.md "Discriminator
loss", docs/ffgan.md "DF-GAN")."""

from __future__ import annotations

import contextlib
import copy

import pytest
import torch
import torch.nn.functional as F

from fusionblocks.ffgan import build_ffgan
from fusionblocks.losses import damsm_sentence_loss, damsm_word_loss
from fusionblocks.train.recipes import TrainBatch, TrainModules, frozen

from .helpers import batch_for, tiny_overrides


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _adam(params, recipe, lr):
    return torch.optim.Adam([p for p in params if p.requires_grad], lr=lr, betas=recipe.betas)


def test_ffgan_iteration_matches_a_reference_iteration() -> None:
    gan = build_ffgan("tiny64", **tiny_overrides("tiny64"))
    recipe = gan.recipe
    batch = batch_for(gan.image_sizes, batch_size=4, seed=1)
    g_ref = copy.deepcopy(gan.generator)
    d_ref = [copy.deepcopy(d) for d in gan.discriminators]
    opts = recipe.build_optimizers(gan.generator, gan.discriminators)

    # D gradients must come from the D step only: record them when each D optimiser steps
    recorded: dict[int, list[torch.Tensor]] = {}
    for i, d in enumerate(gan.discriminators):
        def hook(opt, args, kwargs, i=i, d=d):
            recorded[i] = [p.grad.clone() for p in d.parameters()]
        opts[f"d{i}"].register_step_pre_hook(hook)

    torch.manual_seed(123)
    losses = recipe.iteration(gan.train_modules(), batch, opts)

    # ---- reference (docs/ffgan.md "Discriminator loss", docs/ffgan.md "Generator loss", docs/ffgan.md "KL term",
    # docs/ffgan.md "Training recipe"): same RNG stream, the same module calls
    torch.manual_seed(123)
    with torch.no_grad():
        text = gan.text_encoder(batch.captions)
    bsz = batch.images[0].shape[0]
    z = torch.randn(bsz, recipe.z_dim)
    out = g_ref(z, text.sentence, text.words, text.mask)
    wrong = text.sentence.roll(-1, 0)
    for i, d in enumerate(d_ref):
        opt = _adam(d.parameters(), recipe, recipe.lr_d)
        r = d(batch.images[i], text.sentence, wrong)
        f = d(out.images[i].detach(), text.sentence)
        # L_D = ½ (real_u + cond_real) + ⅓ (fake_u + cond_fake + cond_wrong); wrong = image j with caption j + 1
        expected = 0.5 * (bce(r.uncond, 1) + bce(r.cond, 1)) + (bce(f.uncond, 0) + bce(f.cond, 0) + bce(r.wrong[:-1], 0)) / 3
        torch.testing.assert_close(losses[f"d{i}"], expected.detach(), atol=1e-6, rtol=1e-6)
        expected.backward()
        opt.step()
    opt_g = _adam(g_ref.parameters(), recipe, recipe.lr_g)
    for d in d_ref:
        d.requires_grad_(False)
    g_terms = [bce(o.uncond, 1) + bce(o.cond, 1) for o in (d(x, text.sentence) for d, x in zip(d_ref, out.images))]
    regions, code = gan.image_encoder(out.images[-1])
    w = damsm_word_loss(regions, text.words, text.mask, gamma1=4.0, gamma2=5.0, gamma3=10.0)
    s = damsm_sentence_loss(code, text.sentence, gamma3=10.0)
    lam = gan.config.train.damsm_lambda
    kl = -0.5 * torch.mean(1 + out.logvar - out.mu.pow(2) - out.logvar.exp())
    total = sum(g_terms) + lam * (w.loss0 + w.loss1) + lam * (s.loss0 + s.loss1) + kl
    for i, term in enumerate(g_terms):
        torch.testing.assert_close(losses[f"g{i}"], term.detach(), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(losses["kl"], kl.detach(), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(losses["damsm_w"], (lam * (w.loss0 + w.loss1)).detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(losses["g"], total.detach(), atol=1e-5, rtol=1e-5)
    total.backward()
    opt_g.step()
    for (name, ours), ref in zip(gan.generator.named_parameters(), g_ref.parameters()):
        torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-5, msg=name)
    for d_ours, d_theirs in zip(gan.discriminators, d_ref):
        for ours, ref in zip(d_ours.parameters(), d_theirs.parameters()):
            torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-5)

    # the G step added nothing to the discriminators' gradients (they were frozen, an official-code slip)
    for i, d in enumerate(gan.discriminators):
        for before, p in zip(recorded[i], d.parameters()):
            assert torch.equal(before, p.grad)
    assert all(p.grad is None for p in gan.text_encoder.parameters())


def test_dfgan_iteration_matches_hinge_plus_magp_reference() -> None:
    gan = build_ffgan("dfgan_ffblock", **tiny_overrides("dfgan_ffblock"))
    recipe = gan.recipe
    assert (recipe.lr_g, recipe.lr_d, recipe.betas, recipe.ema_decay) == (1e-4, 4e-4, (0.0, 0.9), None)
    batch = batch_for(gan.image_sizes, batch_size=4, seed=2)
    g_ref, d_ref = copy.deepcopy(gan.generator), copy.deepcopy(gan.discriminators[0])
    # move off DF-GAN's zero-γ init so that the residual branch and the MA-GP are non-trivial
    with torch.no_grad():
        for d in (gan.discriminators[0], d_ref):
            for block in d.blocks:
                block.gamma.fill_(0.7)
    opts = recipe.build_optimizers(gan.generator, gan.discriminators)
    torch.manual_seed(7)
    losses = recipe.iteration(gan.train_modules(), batch, opts)

    torch.manual_seed(7)
    with torch.no_grad():
        text = gan.text_encoder(batch.captions)
    z = torch.randn(4, recipe.z_dim)
    out = g_ref(z, text.sentence, text.words, text.mask)
    assert len(out.attention) == 2
    img = batch.images[0].clone().requires_grad_(True)
    sent = text.sentence.clone().requires_grad_(True)
    feats = d_ref.trunk(img)
    real = d_ref.cond_head(feats, sent)
    fake = d_ref.cond_head(d_ref.trunk(out.images[0].detach()), text.sentence)
    mis = d_ref.cond_head(torch.roll(feats, -1, 0), text.sentence)  # DF-GAN: image i+1 with sentence i
    grads = torch.autograd.grad(real.sum(), (img, sent), create_graph=True)
    norm = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads))
    magp = 2.0 * norm.pow(6).mean()
    hinge = F.relu(1 - real).mean() + 0.5 * (F.relu(1 + fake).mean() + F.relu(1 + mis).mean())
    torch.testing.assert_close(losses["magp"], magp.detach(), atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(losses["d_mismatch"], F.relu(1 + mis).mean().detach(), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(losses["d0"], (hinge + magp).detach(), atol=1e-6, rtol=1e-4)
    opt_d = torch.optim.Adam(d_ref.parameters(), lr=4e-4, betas=(0.0, 0.9))
    (hinge + magp).backward()
    opt_d.step()
    with frozen([d_ref]):
        g_loss = -d_ref(out.images[0], text.sentence).cond.mean()
    torch.testing.assert_close(losses["g"], g_loss.detach(), atol=1e-6, rtol=1e-5)
    assert magp.item() > 0


def test_frozen_restores_individual_flags() -> None:
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    b.bias.requires_grad_(False)
    with frozen([a, b]):
        assert not any(p.requires_grad for p in (*a.parameters(), *b.parameters()))
    assert a.weight.requires_grad and a.bias.requires_grad and b.weight.requires_grad and not b.bias.requires_grad


def test_recipe_checks_the_number_of_scales_and_uses_autocast() -> None:
    gan = build_ffgan("tiny64", **tiny_overrides("tiny64"))
    opts = gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    bad = batch_for(gan.image_sizes[-1:])
    with pytest.raises(ValueError, match="batch.images"):
        gan.recipe.iteration(gan.train_modules(), bad, opts)
    calls = []

    @contextlib.contextmanager
    def autocast():
        calls.append(1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield

    losses = gan.recipe.iteration(gan.train_modules(), batch_for(gan.image_sizes), opts, autocast=autocast)
    assert calls and all(torch.isfinite(v) for v in losses.values())


def test_token_ids_are_used_with_vocabulary_encoders() -> None:
    gan = build_ffgan("tiny64", **tiny_overrides("tiny64"))
    vocab = gan.text_encoder.vocabulary
    captions = ["a small red circle", "a green triangle", "a big red square", "a blue circle"]
    ids, lengths = vocab.encode_batch(captions, max_words=gan.text_encoder.max_words)
    images = batch_for(gan.image_sizes).images
    opts = gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    modules = TrainModules(gan.generator, list(gan.discriminators), gan.text_encoder, gan.image_encoder)
    losses = gan.recipe.iteration(modules, TrainBatch(images=images, captions=None, tokens=ids, lengths=lengths), opts)
    assert torch.isfinite(losses["g"])
    with pytest.raises(ValueError, match="captions"):
        gan.recipe.iteration(modules, TrainBatch(images=images, captions=None), opts)


def test_training_always_asks_the_generator_for_no_attention_maps() -> None:
    gan = build_ffgan("tiny64", **tiny_overrides("tiny64"))
    opts = gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    seen: list[dict] = []

    class Recording(torch.nn.Module):  # a wrapper in the style of DDP: the real generator is ``.module``
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, *args, **kwargs):
            seen.append(kwargs)
            return self.module(*args, **kwargs)

    modules = TrainModules(Recording(gan.generator), list(gan.discriminators), gan.text_encoder, gan.image_encoder)
    losses = gan.recipe.iteration(modules, batch_for(gan.image_sizes), opts)
    assert seen == [{"return_attention": False}] and torch.isfinite(losses["g"])

    class NoFlag(torch.nn.Module):  # the keyword is part of the generator protocol: no signature sniffing
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, z, sentence, words, mask):
            return self.module(z, sentence, words, mask)

    modules = TrainModules(NoFlag(gan.generator), list(gan.discriminators), gan.text_encoder, gan.image_encoder)
    with pytest.raises(TypeError, match="return_attention"):
        gan.recipe.iteration(modules, batch_for(gan.image_sizes), opts)


def test_ffgan_hard_negatives_and_unmasked_damsm_match_a_reference() -> None:
    """hard_negatives=True: D's mismatched caption of image j is its first hard negative; the generator's DAMSM
    losses get every hard negative as an extra wrong caption; damsm_mask_same_class=False ignores class ids."""
    from einops import rearrange

    overrides = tiny_overrides("tiny64")
    overrides["train"] = {**overrides["train"], "hard_negatives": True, "damsm_mask_same_class": False}
    gan = build_ffgan("tiny64", **overrides)
    recipe = gan.recipe
    assert recipe.hard_negatives and not recipe.damsm_mask_same_class
    batch = batch_for(gan.image_sizes, batch_size=4, seed=2)
    batch.class_ids = torch.tensor([0, 0, 1, 1])  # would mask pairs (0, 1) and (2, 3) if masking were on
    batch.negative_captions = [["a small blue circle", "a large red circle"], ["a large blue circle above a small "
                               "green triangle", "a large blue square below a small green triangle"],
                               ["a green square", "a red triangle"], ["a big red square left of a blue square",
                                                                      "a big red square right of a blue circle"]]
    g_ref = copy.deepcopy(gan.generator)
    d_ref = [copy.deepcopy(d) for d in gan.discriminators]
    opts = recipe.build_optimizers(gan.generator, gan.discriminators)
    torch.manual_seed(7)
    losses = recipe.iteration(gan.train_modules(), batch, opts)

    torch.manual_seed(7)
    with torch.no_grad():
        text = gan.text_encoder(batch.captions)
        neg = gan.text_encoder([c for group in batch.negative_captions for c in group])
    z = torch.randn(4, recipe.z_dim)
    out = g_ref(z, text.sentence, text.words, text.mask)
    wrong = neg.sentence[::2]  # each image's first hard negative
    for i, d in enumerate(d_ref):
        r = d(batch.images[i], text.sentence, wrong)
        f = d(out.images[i].detach(), text.sentence)
        expected = 0.5 * (bce(r.uncond, 1) + bce(r.cond, 1)) + (bce(f.uncond, 0) + bce(f.cond, 0) + bce(r.wrong, 0)) / 3
        torch.testing.assert_close(losses[f"d{i}"], expected.detach(), atol=1e-6, rtol=1e-6)
    regions, code = gan.image_encoder(out.images[-1])
    t = neg.words.shape[1]
    w = damsm_word_loss(regions, text.words, text.mask, negative_words=neg.words.reshape(4, 2, t, -1),
                        negative_mask=neg.mask.reshape(4, 2, t))
    s = damsm_sentence_loss(code, text.sentence, negatives=rearrange(neg.sentence, "(b k) d -> b k d", k=2))
    lam = gan.config.train.damsm_lambda
    torch.testing.assert_close(losses["damsm_w"], (lam * w.loss).detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(losses["damsm_s"], (lam * s.loss).detach(), atol=1e-5, rtol=1e-5)


def test_ffgan_hard_negatives_need_negative_captions() -> None:
    overrides = tiny_overrides("tiny64")
    overrides["train"] = {**overrides["train"], "hard_negatives": True}
    gan = build_ffgan("tiny64", **overrides)
    batch = batch_for(gan.image_sizes, batch_size=4)
    opts = gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    with pytest.raises(ValueError, match="negative_captions"):
        gan.recipe.iteration(gan.train_modules(), batch, opts)
    batch.negative_captions = [["a red circle"]] * 3
    with pytest.raises(ValueError, match="negative_captions"):
        gan.recipe.iteration(gan.train_modules(), batch, opts)


def test_official_presets_keep_hard_negatives_off_and_class_masking_on() -> None:
    for name in ("cub256", "coco256", "tiny64", "attngan"):
        from fusionblocks.ffgan import preset_config

        train = preset_config(name).train
        assert train.hard_negatives is False and train.damsm_mask_same_class is True, name
