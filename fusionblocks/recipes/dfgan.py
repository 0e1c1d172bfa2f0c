"""The DF-GAN 2022 training iteration ([DF-GAN][ffgan-dfgan]), registered as recipe ``"dfgan"``: hinge +
mismatch + MA-GP in one D step, then the hinge G step."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, ContextManager, Literal

import torch

from ..losses import hinge_d, hinge_g, ma_gp
from ..registry import register
from .base import Recipe, TrainBatch, TrainModules, check_scales, frozen, unwrap_module

__all__ = ["DFGANRecipe"]


@register("recipe", "dfgan", paper="DF-GAN (CVPR 2022)")
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
    magp_form: Literal["joint", "paper"] = "joint"

    def iteration(
        self,
        modules: TrainModules,
        batch: TrainBatch,
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        autocast: Callable[[], ContextManager] = contextlib.nullcontext,
    ) -> dict[str, torch.Tensor]:
        """One DF-GAN iteration; see the class docstring."""
        text, reals, out, discriminators = self.generate(modules, batch, autocast)
        check_scales(reals[-len(out.images):], out.images, len(discriminators))
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
                    total = total + hinge_g(unwrap_module(d)(fake, text.sentence).cond).loss
            total.backward()
        opt_g.step()
        losses["g_adv"] = total.detach()
        losses["g"] = total.detach()
        return losses
