"""The FF-GAN / AttnGAN / DM-GAN training iteration ([FF-GAN: losses][ffgan-losses],
[training recipe][ffgan-training]), registered as recipe ``"ffgan"``.

Text encoded under ``no_grad``; for every scale a D step (its own Adam, generated images detached, BCE on logits
with the mismatched-caption term); then one G step with the per-scale BCE losses, the DAMSM word + sentence losses
(λ, at the last scale, through the frozen image encoder) and the CA KL term, with the discriminators frozen
(``requires_grad`` False).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, ContextManager, Literal

import torch
from einops import rearrange

from ..losses import bce_stage_d, bce_stage_g, damsm_sentence_loss, damsm_word_loss, kl_ca, mismatch_pairs
from ..registry import register
from .base import Recipe, TrainBatch, TrainModules, check_scales, encode_negatives, frozen, unwrap_module

__all__ = ["FFGANRecipe"]


@register("recipe", "ffgan", paper="AttnGAN / DM-GAN / FF-GAN")
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
        damsm_mask_same_class: Leave same-class pairs out of the generator's DAMSM losses when batches carry
            class ids (official: True). Turn it off when a class does not fix what a caption says (CaptionedShapes
            classes are shape and colour only, so masking removes the pairs that differ in size or position).
        hard_negatives: Use the batch's ``negative_captions`` (off by default and in every official preset):
            each real image's mismatched caption in the discriminator loss is its first hard negative instead of
            the next sample's caption, and every hard negative joins the generator's DAMSM losses as an extra
            wrong caption for its image. Needs a dataset that provides them (``data.kwargs.hard_negatives``).

    The generator is called with ``return_attention=False`` (the generator protocol's keyword): no loss reads
    the word-attention maps.

    Returned terms: ``d{i}`` (D loss per scale), ``g{i}`` (G adversarial loss per scale), ``g_adv`` (their sum),
    ``damsm_w``, ``damsm_s`` (λ-weighted; only with an image encoder and λ > 0), ``kl``, ``g`` (total G loss).

    Shapes:
        batch.images ``[(B, 3, S_i, S_i)]`` matching the generator's outputs; every returned tensor is ``()``.
    """

    uses_image_encoder: ClassVar[bool] = True

    name: str = "ffgan"
    ema_decay: float | None = 0.999
    damsm_lambda: float = 5.0
    gamma1: float = 4.0
    gamma2: float = 5.0
    gamma3: float = 10.0
    damsm_form: Literal["official", "paper"] = "official"
    kl_weight: float = 1.0
    skip_same_class: bool = False
    damsm_mask_same_class: bool = True
    hard_negatives: bool = False

    def iteration(
        self,
        modules: TrainModules,
        batch: TrainBatch,
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        autocast: Callable[[], ContextManager] = contextlib.nullcontext,
    ) -> dict[str, torch.Tensor]:
        """One FF-GAN iteration: D step per scale, then the G step (Ds frozen); see the class docstring."""
        text, reals, out, discriminators = self.generate(modules, batch, autocast)
        bsz = reals[0].shape[0]
        check_scales(reals, out.images, len(discriminators))
        negatives = None
        if self.hard_negatives:
            negatives, count = encode_negatives(modules.text_encoder, batch)
            # row j: sample j's first hard negative, a caption false for real image j in one attribute
            wrong_sentence = negatives.sentence[::count]
            image_index = torch.arange(bsz, device=reals[0].device)
        else:
            image_index, _ = mismatch_pairs(
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
                    o = unwrap_module(d)(fake, text.sentence)  # plain module: D is not updated in the G step
                    term = bce_stage_g(o.cond, o.uncond).loss
                    losses[f"g{i}"] = term.detach()
                    g_adv = g_adv + term
                total = g_adv
                if modules.image_encoder is not None and self.damsm_lambda > 0:
                    encoder = unwrap_module(modules.image_encoder)
                    if encoder.training:
                        encoder.eval()
                    regions, code = modules.image_encoder(out.images[-1])
                    class_ids = batch.class_ids if self.damsm_mask_same_class else None
                    hard: dict[str, Any] = {}
                    hard_sentence = None
                    if negatives is not None:
                        hard = {
                            "negative_words": rearrange(negatives.words, "(b k) t d -> b k t d", b=bsz),
                            "negative_mask": rearrange(negatives.mask, "(b k) t -> b k t", b=bsz),
                        }
                        hard_sentence = rearrange(negatives.sentence, "(b k) d -> b k d", b=bsz)
                    w = damsm_word_loss(
                        regions, text.words, text.mask, class_ids=class_ids, gamma1=self.gamma1,
                        gamma2=self.gamma2, gamma3=self.gamma3, form=self.damsm_form, **hard,
                    )
                    s = damsm_sentence_loss(code, text.sentence, class_ids=class_ids, gamma3=self.gamma3,
                                            negatives=hard_sentence)
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
