"""Reference DAMSM text-encoder forward written from docs/ffgan.md "DAMSM encoders" (the official, sorted-batch
recipe)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def official_text_forward(
    state: dict[str, torch.Tensor], ids: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the official RNN_ENCODER computation (eval mode) on an official state dict.

    Sort the batch by decreasing length (as AttnGAN's ``prepare_data`` does), embed, pack with sorted lengths,
    run a 1-layer bidirectional LSTM from a zero state, pad to the batch max length, then undo the sort.

    Returns words ``(B, T, 2H)`` (token-major; the official layout is its transpose) and sentence ``(B, 2H)``.
    """
    vocab, emb_dim = state["encoder.weight"].shape
    hidden = state["rnn.weight_hh_l0"].shape[1]
    lstm = nn.LSTM(emb_dim, hidden, num_layers=1, batch_first=True, bidirectional=True)
    lstm.load_state_dict({k[len("rnn."):]: v for k, v in state.items() if k.startswith("rnn.")})
    order = torch.argsort(lengths, descending=True, stable=True)
    ids_s, len_s = ids[order], lengths[order]
    emb = nn.functional.embedding(ids_s, state["encoder.weight"])
    b = ids.shape[0]
    h0 = torch.zeros(2, b, hidden)
    c0 = torch.zeros(2, b, hidden)
    with torch.no_grad():
        out, (h_n, _) = lstm(pack_padded_sequence(emb, len_s, batch_first=True), (h0, c0))
    words = pad_packed_sequence(out, batch_first=True)[0]
    sentence = h_n.transpose(0, 1).contiguous().view(-1, 2 * hidden)
    inverse = torch.argsort(order)
    return words[inverse], sentence[inverse]


def official_text_state_dict(vocab_size: int, emb_dim: int = 300, hidden: int = 128, seed: int = 0) -> dict:
    """A random state dict with exactly the official RNN_ENCODER (LSTM) keys and shapes."""
    g = torch.Generator().manual_seed(seed)
    state = {"encoder.weight": torch.rand(vocab_size, emb_dim, generator=g) * 0.2 - 0.1}
    for suffix in ("", "_reverse"):
        state[f"rnn.weight_ih_l0{suffix}"] = torch.randn(4 * hidden, emb_dim, generator=g) * 0.1
        state[f"rnn.weight_hh_l0{suffix}"] = torch.randn(4 * hidden, hidden, generator=g) * 0.1
        state[f"rnn.bias_ih_l0{suffix}"] = torch.randn(4 * hidden, generator=g) * 0.1
        state[f"rnn.bias_hh_l0{suffix}"] = torch.randn(4 * hidden, generator=g) * 0.1
    return state
