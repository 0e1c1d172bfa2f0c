"""Losses of the FF-GAN family: DAMSM word/sentence matching, BCE stage losses, hinge, MA-GP and KL.

Each loss is a function returning a small dataclass (with a scalar ``.loss`` and its terms) plus a thin
registered ``nn.Module`` wrapper of kind ``"loss"``:

    from fusionblocks.losses import damsm_word_loss, damsm_sentence_loss
    w = damsm_word_loss(regions, text.words, text.mask, class_ids=None, gamma1=4.0, gamma2=5.0, gamma3=10.0)
    s = damsm_sentence_loss(codes, text.sentence, class_ids=None, gamma3=10.0)
    total = lam * (w.loss0 + w.loss1 + s.loss0 + s.loss1)

Registered names: ``loss.damsm_words``, ``loss.damsm_sentence``, ``loss.bce_stage_d``, ``loss.bce_stage_g``,
``loss.hinge_d``, ``loss.hinge_g``, ``loss.ma_gp``, ``loss.kl_ca``.
"""

from __future__ import annotations

from .bce import BCEStageDLoss, BCEStageGLoss, bce_stage_d, bce_stage_d_from_heads, bce_stage_g, mismatch_pairs
from .damsm_sentence import DAMSMSentenceLoss, damsm_sentence_loss
from .damsm_words import WORD_SCORE_FORMS, DAMSMWordLoss, damsm_word_loss
from .hinge import HingeDiscriminatorLoss, HingeGeneratorLoss, hinge_d, hinge_g, roll_mismatch
from .kl import KLDivergenceLoss, kl_ca
from .ma_gp import MAGP_FORMS, MatchingAwareGradientPenalty, ma_gp
from .outputs import DAMSMLoss, HingeDLoss, HingeGLoss, KLLoss, MAGPLoss, StageDLoss, StageGLoss

__all__ = [
    # functions
    "damsm_word_loss",
    "damsm_sentence_loss",
    "bce_stage_d",
    "bce_stage_d_from_heads",
    "bce_stage_g",
    "mismatch_pairs",
    "hinge_d",
    "hinge_g",
    "roll_mismatch",
    "ma_gp",
    "kl_ca",
    # modules (registered, kind "loss")
    "DAMSMWordLoss",
    "DAMSMSentenceLoss",
    "BCEStageDLoss",
    "BCEStageGLoss",
    "HingeDiscriminatorLoss",
    "HingeGeneratorLoss",
    "MatchingAwareGradientPenalty",
    "KLDivergenceLoss",
    # outputs
    "DAMSMLoss",
    "StageDLoss",
    "StageGLoss",
    "HingeDLoss",
    "HingeGLoss",
    "MAGPLoss",
    "KLLoss",
    # constants
    "WORD_SCORE_FORMS",
    "MAGP_FORMS",
]
