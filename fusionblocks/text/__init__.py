"""Text encoders behind one interface: ``captions -> TextFeatures(words, sentence, mask)``.

Swap encoders with one config value: ``create("text_encoder", "text.damsm_bilstm", vocabulary=vocab)`` or
``create("text_encoder", "text.clip", model_name="ViT-B-32")``.
"""

from __future__ import annotations

from typing import Any

from ..registry import create as _create
from .clip_encoder import CLIPTextEncoder
from .coverage import (
    MAX_UNKNOWN_FRACTION,
    VocabularyCoverage,
    VocabularyCoverageError,
    check_vocabulary_coverage,
    vocabulary_coverage,
    warn_unknown_words,
)
from .damsm_bilstm import DAMSMTextEncoder, prepare_token_ids
from .damsm_convert import convert_damsm_text_state_dict, load_damsm_text_encoder
from .features import TextEncoder, TextFeatures
from .from_config import clip_text_encoder_from_config, damsm_text_encoder_from_config
from .tokenizer import tokenize
from .vocabulary import AttnGANCaptions, UnsafePickleError, Vocabulary, load_attngan_captions, safe_unpickle

__all__ = [
    "clip_text_encoder_from_config",
    "damsm_text_encoder_from_config",
    "TextFeatures",
    "TextEncoder",
    "Vocabulary",
    "AttnGANCaptions",
    "load_attngan_captions",
    "safe_unpickle",
    "UnsafePickleError",
    "tokenize",
    "MAX_UNKNOWN_FRACTION",
    "VocabularyCoverage",
    "VocabularyCoverageError",
    "vocabulary_coverage",
    "check_vocabulary_coverage",
    "warn_unknown_words",
    "DAMSMTextEncoder",
    "CLIPTextEncoder",
    "prepare_token_ids",
    "convert_damsm_text_state_dict",
    "load_damsm_text_encoder",
    "create_text_encoder",
]


def create_text_encoder(name: str, /, **kwargs: Any) -> TextEncoder:
    """Build a registered text encoder, e.g. ``create_text_encoder("text.clip", word_dim=256)``.

    Same as ``fusionblocks.create("text_encoder", name, **kwargs)``.
    """
    return _create("text_encoder", name, **kwargs)
