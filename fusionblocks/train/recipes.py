"""Training recipes: what one iteration of a GAN does (D steps, G step, losses, optimisers).

The trainer (``fusionblocks.train.trainer``) owns devices, DDP, EMA, checkpoints and the loop; it hands a recipe
the modules (possibly DDP-wrapped), a [`TrainBatch`][fusionblocks.train.recipes.TrainBatch] and the optimisers built by
[`Recipe.build_optimizers`][fusionblocks.train.recipes.Recipe.build_optimizers].

- [`FFGANRecipe`][fusionblocks.train.recipes.FFGANRecipe] (``"ffgan"``, [FF-GAN: losses][ffgan-losses],
  [training recipe][ffgan-training]): text encoded under ``no_grad``; for every scale a D step
  (its own Adam, generated images detached, BCE on logits with the mismatched-caption term); then one G step with
  the per-scale BCE losses, the DAMSM word + sentence losses (λ, at the last scale, through the frozen image encoder)
  and the CA KL term, with the discriminators frozen (``requires_grad`` False).

In the G step the discriminators are called unwrapped (``d.module`` of a DDP wrapper): they are not updated there,
so their DDP reducers must not expect gradients. The D steps call them through DDP (real and fake forwards, then
one backward).
- [`DFGANRecipe`][fusionblocks.train.recipes.DFGANRecipe] (``"dfgan"``, [DF-GAN][ffgan-dfgan]): hinge + mismatch +
  MA-GP in one D step, then the hinge G step.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Iterator, Sequence

import torch
from torch import nn

from .._signatures import wrapped_module_accepts_keyword

__all__ = ["TrainBatch", "TrainModules", "Recipe", "FFGANRecipe", "DFGANRecipe", "encode_text", "frozen"]


@dataclass
class TrainBatch:
    """One training batch.

    Args:
        images: Real images, one per generator output scale, smallest first, in ``[-1, 1]``.
        captions: Raw captions (any text encoder can take these).
        tokens: Token ids (alternative for vocabulary encoders such as DAMSM).
        lengths: Caption lengths for ``tokens``.
        class_ids: Class of each sample (DAMSM class masking, optional class-aware mismatch).

    Shapes:
        images: ``[(B, 3, S_i, S_i)]``; tokens: ``(B, T)`` long; lengths, class_ids: ``(B,)`` long.
    """

    images: list[torch.Tensor]
    captions: list[str] | None
    tokens: torch.Tensor | None = None
    lengths: torch.Tensor | None = None
    class_ids: torch.Tensor | None = None


@dataclass
class TrainModules:
    """What the trainer hands the recipe (modules may be DDP-wrapped)."""

    generator: nn.Module
    discriminators: Sequence[nn.Module]
    text_encoder: nn.Module
    image_encoder: nn.Module | None = None


def _unwrap(module: nn.Module) -> nn.Module:
    while hasattr(module, "module") and isinstance(module.module, nn.Module):
        module = module.module
    return module


def encode_text(text_encoder: nn.Module, batch: TrainBatch) -> Any:
    """Encode the batch's text under ``torch.no_grad`` with the frozen encoder.

    Token ids are used when the batch has them and the encoder is a vocabulary encoder (has ``vocab_size``);
    otherwise the raw captions.

    Raises:
        ValueError: the batch has neither usable tokens nor captions.

    Shapes:
        returns ``TextFeatures(words (B, T, Dw), sentence (B, Ds), mask (B, T))``.
    """
    inner = _unwrap(text_encoder)
    if inner.training:
        inner.eval()
    with torch.no_grad():
        if batch.tokens is not None and hasattr(inner, "vocab_size"):
            return text_encoder(batch.tokens, batch.lengths)
        if batch.captions is None:
            raise ValueError("batch: has no captions (and no token ids usable by this text encoder)")
        return text_encoder(list(batch.captions))


@contextlib.contextmanager
def frozen(modules: Sequence[nn.Module]) -> Iterator[None]:
    """Set ``requires_grad=False`` on every parameter of ``modules`` and restore each flag afterwards."""
    saved = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    try:
        for p, _ in saved:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def _adam(params: Any, lr: float, betas: Sequence[float], fused: bool | None) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    kwargs: dict[str, Any] = {"lr": lr, "betas": (float(betas[0]), float(betas[1]))}
    if fused is not None:
        kwargs["fused"] = fused
    return torch.optim.Adam(params, **kwargs)


def _check_scales(images: Sequence[torch.Tensor], fakes: Sequence[torch.Tensor], n_disc: int) -> None:
    if len(images) != len(fakes) or len(fakes) != n_disc:
        raise ValueError(
            f"batch.images: expected one real image tensor per generator output scale and discriminator "
            f"({len(fakes)} scales, {n_disc} discriminators), got {len(images)}"
        )
    for i, (real, fake) in enumerate(zip(images, fakes)):
        if real.shape[1:] != fake.shape[1:] or real.shape[0] != fake.shape[0]:
            raise ValueError(f"batch.images[{i}]: expected shape {tuple(fake.shape)}, got {tuple(real.shape)}")


@dataclass
class Recipe:
    """Base class: one training iteration of a GAN.

    Args:
        name: Recipe name (stored in checkpoints).
        ema_decay: Generator EMA decay the trainer should keep (None: no EMA).
        z_dim: Noise width of the generator.
        lr_g: Generator learning rate.
        lr_d: Discriminator learning rate.
        betas: Adam betas.
    """

    name: str = "recipe"
    ema_decay: float | None = None
    z_dim: int = 100
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def build_optimizers(
        self, generator: nn.Module, discriminators: Sequence[nn.Module], *, fused: bool | None = None
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam for the generator (``"g"``) and one per discriminator (``"d0"``, ``"d1"``, …)."""
        opts = {"g": _adam(generator.parameters(), self.lr_g, self.betas, fused)}
        for i, d in enumerate(discriminators):
            opts[f"d{i}"] = _adam(d.parameters(), self.lr_d, self.betas, fused)
        return opts

    def sample_noise(self, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        """``z ~ N(0, I)`` on the device of ``like``.

        Shapes:
            returns ``(batch_size, z_dim)``.
        """
        return torch.randn(batch_size, self.z_dim, device=like.device)

    def generate(
        self, modules: TrainModules, batch: TrainBatch, autocast: Callable[[], ContextManager]
    ) -> tuple[Any, list[torch.Tensor], Any, list[nn.Module]]:
        """The start of every iteration: encode the text (frozen, no grad), draw ``z``, run the generator.

        Shapes:
            returns ``(text, reals, out, discriminators)``: TextFeatures of the B captions, the real images per
            scale, the ``GeneratorOutput`` and the discriminators as a list.
        """
        text = encode_text(modules.text_encoder, batch)
        reals = list(batch.images)
        z = self.sample_noise(reals[0].shape[0], reals[0])
        # no loss reads the attention maps: not asking for them lets word attention run as SDPA
        takes_flag = wrapped_module_accepts_keyword(modules.generator, "return_attention")
        no_maps = {"return_attention": False} if takes_flag else {}
        with autocast():
            out = modules.generator(z, text.sentence, text.words, text.mask, **no_maps)
        return text, reals, out, list(modules.discriminators)

    def iteration(
        self,
        modules: TrainModules,
        batch: TrainBatch,
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        autocast: Callable[[], ContextManager] = contextlib.nullcontext,
    ) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        """Run the D step(s) then the G step and return detached loss terms by name."""
        raise NotImplementedError


@dataclass
class FFGANRecipe(Recipe):
    """FF-GAN / AttnGAN / DM-GAN training iteration ([FF-GAN: losses][ffgan-losses], [training recipe][ffgan-training]).

    Args:
        damsm_lambda: λ of the DAMSM word and sentence losses (5 CUB, 50 COCO; 0 disables them).
        gamma1: DAMSM γ₁.
        gamma2: DAMSM γ₂.
        gamma3: DAMSM γ₃.
        damsm_form: Word-score form (``"official"`` or ``"paper"``).
        kl_weight: Weight of the CA KL term.
        skip_same_class: Drop mismatched pairs of the same class (the official code keeps them).

    Returned terms: ``d{i}`` (D loss per scale), ``g{i}`` (G adversarial loss per scale), ``g_adv`` (their sum),
    ``damsm_w``, ``damsm_s`` (λ-weighted; only with an image encoder and λ > 0), ``kl``, ``g`` (total G loss).

    Shapes:
        batch.images ``[(B, 3, S_i, S_i)]`` matching the generator's outputs; every returned tensor is ``()``.
    """

    name: str = "ffgan"
    ema_decay: float | None = 0.999
    damsm_lambda: float = 5.0
    gamma1: float = 4.0
    gamma2: float = 5.0
    gamma3: float = 10.0
    damsm_form: str = "official"
    kl_weight: float = 1.0
    skip_same_class: bool = False

    def iteration(
        self,
        modules: TrainModules,
        batch: TrainBatch,
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        autocast: Callable[[], ContextManager] = contextlib.nullcontext,
    ) -> dict[str, torch.Tensor]:
        """One FF-GAN iteration: D step per scale, then the G step (Ds frozen); see the class docstring."""
        from ..losses import bce_stage_d, bce_stage_g, damsm_sentence_loss, damsm_word_loss, kl_ca, mismatch_pairs

        text, reals, out, discriminators = self.generate(modules, batch, autocast)
        bsz = reals[0].shape[0]
        _check_scales(reals, out.images, len(discriminators))
        image_index, caption_index = mismatch_pairs(
            bsz, batch.class_ids, self.skip_same_class, device=reals[0].device
        )
        wrong_sentence = text.sentence.roll(-1, dims=0)  # row j: caption of sample j + 1
        losses: dict[str, torch.Tensor] = {}

        for i, (d, real, fake) in enumerate(zip(discriminators, reals, out.images)):
            opt = optimizers[f"d{i}"]
            opt.zero_grad(set_to_none=True)
            with autocast():
                r = d(real, text.sentence, wrong_sentence)
                f = d(fake.detach(), text.sentence)
                loss = bce_stage_d(r.cond, f.cond, r.wrong[image_index], r.uncond, f.uncond).loss
            loss.backward()
            opt.step()
            losses[f"d{i}"] = loss.detach()

        opt_g = optimizers["g"]
        opt_g.zero_grad(set_to_none=True)
        with frozen(discriminators):
            with autocast():
                g_adv = reals[0].new_zeros(())
                for i, (d, fake) in enumerate(zip(discriminators, out.images)):
                    o = _unwrap(d)(fake, text.sentence)  # plain module: D is not updated in the G step
                    term = bce_stage_g(o.cond, o.uncond).loss
                    losses[f"g{i}"] = term.detach()
                    g_adv = g_adv + term
                total = g_adv
                if modules.image_encoder is not None and self.damsm_lambda > 0:
                    encoder = _unwrap(modules.image_encoder)
                    if encoder.training:
                        encoder.eval()
                    regions, code = modules.image_encoder(out.images[-1])
                    w = damsm_word_loss(
                        regions, text.words, text.mask, class_ids=batch.class_ids, gamma1=self.gamma1,
                        gamma2=self.gamma2, gamma3=self.gamma3, form=self.damsm_form,
                    )
                    s = damsm_sentence_loss(code, text.sentence, class_ids=batch.class_ids, gamma3=self.gamma3)
                    damsm_w = self.damsm_lambda * (w.loss0 + w.loss1)
                    damsm_s = self.damsm_lambda * (s.loss0 + s.loss1)
                    total = total + damsm_w + damsm_s
                    losses["damsm_w"] = damsm_w.detach()
                    losses["damsm_s"] = damsm_s.detach()
                if out.mu is not None and out.logvar is not None and self.kl_weight > 0:
                    kl = self.kl_weight * kl_ca(out.mu, out.logvar).loss
                    total = total + kl
                    losses["kl"] = kl.detach()
            total.backward()
        opt_g.step()
        losses["g_adv"] = g_adv.detach()
        losses["g"] = total.detach()
        return losses


@dataclass
class DFGANRecipe(Recipe):
    """DF-GAN 2022 training iteration ([DF-GAN][ffgan-dfgan]): one D step, one G step.

    D: ``hinge(real) + ½ (hinge(fake) + hinge(mismatch)) + MA-GP`` with mismatched pairs ``(image_j,
    sentence_{j−1})`` (DF-GAN's roll) and ``MA-GP = k · mean ‖∂C/∂(x, s)‖^p`` on the real, matching pairs. G:
    ``−mean C(D(x̂), s)`` with D re-run on the non-detached fakes and frozen. The last generator scale is used
    (DF-GAN has one). Defaults: Adam 1e-4 (G) / 4e-4 (D), betas (0, 0.9), no EMA.

    Args:
        magp_k: MA-GP weight k.
        magp_p: MA-GP power p.
        magp_form: ``"joint"`` (code) or ``"paper"``.

    Returned terms: ``d0`` (total D loss), ``d_real``, ``d_fake``, ``d_mismatch``, ``magp``, ``g`` (= ``g_adv``).

    Shapes:
        batch.images ``[(B, 3, S, S)]``; every returned tensor is ``()``.
    """

    name: str = "dfgan"
    ema_decay: float | None = None
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    betas: tuple[float, float] = (0.0, 0.9)
    magp_k: float = 2.0
    magp_p: float = 6.0
    magp_form: str = "joint"

    def iteration(
        self,
        modules: TrainModules,
        batch: TrainBatch,
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        autocast: Callable[[], ContextManager] = contextlib.nullcontext,
    ) -> dict[str, torch.Tensor]:
        """One DF-GAN iteration; see the class docstring."""
        from ..losses import hinge_d, hinge_g, ma_gp

        text, reals, out, discriminators = self.generate(modules, batch, autocast)
        _check_scales(reals[-len(out.images):], out.images, len(discriminators))
        reals = reals[-len(out.images):]
        losses: dict[str, torch.Tensor] = {}

        for i, (d, real, fake) in enumerate(zip(discriminators, reals, out.images)):
            opt = optimizers[f"d{i}"]
            opt.zero_grad(set_to_none=True)
            real = real.detach().requires_grad_(True)
            sentence = text.sentence.detach().clone().requires_grad_(True)
            with autocast():
                r = d(real, sentence, text.sentence.roll(1, dims=0))
                f = d(fake.detach(), text.sentence)
                h = hinge_d(r.cond, f.cond, r.wrong)
                gp = ma_gp(r.cond, (real, sentence), k=self.magp_k, p=self.magp_p, form=self.magp_form)
                loss = h.loss + gp.loss
            loss.backward()
            opt.step()
            suffix = "" if len(discriminators) == 1 else str(i)
            losses[f"d{i}"] = loss.detach()
            losses[f"d_real{suffix}"] = h.real.detach()
            losses[f"d_fake{suffix}"] = h.fake.detach()
            losses[f"d_mismatch{suffix}"] = h.mismatch.detach()
            losses[f"magp{suffix}"] = gp.loss.detach()

        opt_g = optimizers["g"]
        opt_g.zero_grad(set_to_none=True)
        with frozen(discriminators):
            with autocast():
                total = reals[0].new_zeros(())
                for d, fake in zip(discriminators, out.images):
                    total = total + hinge_g(_unwrap(d)(fake, text.sentence).cond).loss
            total.backward()
        opt_g.step()
        losses["g_adv"] = total.detach()
        losses["g"] = total.detach()
        return losses
