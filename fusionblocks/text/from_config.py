"""The built-in text encoders' registry entries, with how each is built from a model config's ``text`` section.

The builder looks an encoder up by its registered name (``text.encoder``) and calls the ``from_config`` given at
registration: ``from_config(config, *, vocabulary)``. A plugin encoder registered without one is built as
``Encoder(**text.kwargs)``.
"""

from __future__ import annotations

from typing import Any

from ..registry import create, register
from .clip_encoder import CLIPTextEncoder
from .damsm_bilstm import DAMSMTextEncoder
from .damsm_convert import load_damsm_text_encoder
from .vocabulary import Vocabulary

__all__ = ["damsm_text_encoder_from_config", "clip_text_encoder_from_config"]


def damsm_text_encoder_from_config(config: Any, *, vocabulary: Vocabulary | None) -> DAMSMTextEncoder:
    """``text.damsm_bilstm``: the released weights (``text.weights``, sizes read from them) or a fresh encoder.

    A vocabulary fixes the vocabulary size; ``text.vocab_size`` is for token-id-only encoders (no vocabulary
    known).

    Raises:
        ValueError: no vocabulary and no ``text.vocab_size``.
    """
    tc = config.text
    if tc.weights is not None:
        return load_damsm_text_encoder(tc.weights, vocabulary=vocabulary, max_words=tc.max_words, freeze=True,
                                        argument="text.weights")
    vocab_size = len(vocabulary) if vocabulary is not None else tc.vocab_size
    if vocab_size is None:
        raise ValueError(
            "text.vocab_size: required for text.damsm_bilstm when no vocabulary is known; give the data folder "
            "(data.root / --data: the dataset decides the vocabulary) or text.vocabulary"
        )
    return create(
        "text_encoder", "text.damsm_bilstm", vocab_size=vocab_size, embedding_dim=tc.embedding_dim,
        hidden_dim=tc.hidden_dim, max_words=tc.max_words,
        dropout=tc.dropout, vocabulary=vocabulary, **tc.kwargs,
    )


def clip_text_encoder_from_config(config: Any, *, vocabulary: Vocabulary | None) -> CLIPTextEncoder:
    """``text.clip``: ``text.clip_model`` with local weights ``text.weights`` (its own tokenizer: no vocabulary)."""
    tc = config.text
    kwargs: dict[str, Any] = {"context_length": min(tc.max_words, 77) if tc.max_words else None, **tc.kwargs}
    return create(
        "text_encoder", "text.clip", model_name=tc.clip_model, pretrained=tc.weights, word_dim=tc.word_dim, **kwargs
    )


register(
    "text_encoder", "text.damsm_bilstm", DAMSMTextEncoder, from_config=damsm_text_encoder_from_config,
    paper="AttnGAN, arXiv 1711.10485",
)
register(
    "text_encoder", "text.clip", CLIPTextEncoder, from_config=clip_text_encoder_from_config,
    paper="CLIP, arXiv 2103.00020",
)
