"""Load the released AttnGAN/DM-GAN/FF-GAN DAMSM text encoder (``text_encoder200.pth``) into our encoder."""

from __future__ import annotations

import os
from typing import Mapping

import torch

from ..state_dict_io import read_state_dict
from .damsm_bilstm import DAMSMTextEncoder
from .vocabulary import Vocabulary

__all__ = ["convert_damsm_text_state_dict", "load_damsm_text_encoder", "OFFICIAL_TEXT_KEYS"]

# official RNN_ENCODER key -> our DAMSMTextEncoder key
_LSTM_PARAMS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
OFFICIAL_TEXT_KEYS: dict[str, str] = {
    "encoder.weight": "embedding.weight",
    **{f"rnn.{p}": f"lstm.{p}" for p in _LSTM_PARAMS},
    **{f"rnn.{p}_reverse": f"lstm.{p}_reverse" for p in _LSTM_PARAMS},
}


def _strip_module_prefix(state: dict) -> dict:
    if state and all(k.startswith("module.") for k in state):  # saved from nn.DataParallel
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def convert_damsm_text_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map an official ``RNN_ENCODER`` state dict (LSTM variant) to
    [`DAMSMTextEncoder`][fusionblocks.text.damsm_bilstm.DAMSMTextEncoder] keys.

    A state dict already in our layout is returned unchanged.

    Raises:
        ValueError: keys are missing or unexpected (e.g. a GRU checkpoint), listing them.

    Shapes:
        ``encoder.weight (V, 300)``, ``rnn.weight_ih_l0 (512, 300)``, ``rnn.weight_hh_l0 (512, 128)``,
        ``rnn.bias_* (512,)`` and the ``_reverse`` variants (for hidden 256).
    """
    state = _strip_module_prefix(dict(state_dict))
    ours = set(OFFICIAL_TEXT_KEYS.values())
    if set(state) == ours:
        return state
    missing = sorted(set(OFFICIAL_TEXT_KEYS) - set(state))
    unexpected = sorted(set(state) - set(OFFICIAL_TEXT_KEYS))
    if missing or unexpected:
        raise ValueError(
            "state_dict: not an official DAMSM LSTM text encoder; "
            f"missing {missing[:6]}, unexpected {unexpected[:6]}"
        )
    return {OFFICIAL_TEXT_KEYS[k]: v for k, v in state.items()}


def load_damsm_text_encoder(
    path_or_state_dict: str | os.PathLike | Mapping[str, torch.Tensor],
    vocabulary: Vocabulary | None = None,
    max_words: int | None = 18,
    freeze: bool = True,
    *,
    argument: str = "path_or_state_dict",
) -> DAMSMTextEncoder:
    """Build a [`DAMSMTextEncoder`][fusionblocks.text.damsm_bilstm.DAMSMTextEncoder] from an official
    ``text_encoder*.pth`` (or our own state dict).

    The vocabulary size, embedding width and hidden width are inferred from the weights. The file is read with
    ``torch.load(weights_only=True)`` (or safetensors).

    Args:
        path_or_state_dict: A file path or an already loaded state dict.
        vocabulary: The vocabulary the weights were trained with (the shipped ``captions.pickle``); needed to
            encode strings. Its size must match the embedding.
        max_words: Length cap (see [`DAMSMTextEncoder`][fusionblocks.text.damsm_bilstm.DAMSMTextEncoder]).
        freeze: Return the encoder frozen (eval mode, no gradients), as GAN training uses it.
        argument: The name errors give the weights by (e.g. ``"text.weights"`` for a config key).

    Raises:
        ValueError: the weights are not a DAMSM LSTM text encoder, or the vocabulary size disagrees.

    Shapes:
        See [`DAMSMTextEncoder`][fusionblocks.text.damsm_bilstm.DAMSMTextEncoder].
    """
    state = convert_damsm_text_state_dict(read_state_dict(path_or_state_dict, argument))
    vocab_size, embedding_dim = state["embedding.weight"].shape
    hidden_dim = 2 * state["lstm.weight_hh_l0"].shape[1]
    if vocabulary is not None and len(vocabulary) != vocab_size:
        raise ValueError(
            f"vocabulary: has {len(vocabulary)} words but the weights' embedding has {vocab_size} rows; "
            "use the captions.pickle the encoder was trained with"
        )
    encoder = DAMSMTextEncoder(
        vocab_size=int(vocab_size),
        embedding_dim=int(embedding_dim),
        hidden_dim=int(hidden_dim),
        max_words=max_words,
        vocabulary=vocabulary,
    )
    encoder.load_state_dict(state, strict=True)
    if freeze:
        encoder.freeze()
    return encoder
