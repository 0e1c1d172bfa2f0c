"""Loading the released AttnGAN/DM-GAN DAMSM text encoder: exact official keys in, same computation out."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.text import DAMSMTextEncoder, Vocabulary, convert_damsm_text_state_dict, load_damsm_text_encoder

from ._reference import official_text_forward, official_text_state_dict

OFFICIAL_KEYS = {
    "encoder.weight",
    "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
    "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse", "rnn.bias_hh_l0_reverse",
}


def test_official_file_loads_and_computes_the_official_forward(tmp_path) -> None:
    state = official_text_state_dict(vocab_size=40)
    assert set(state) == OFFICIAL_KEYS
    path = tmp_path / "text_encoder200.pth"
    torch.save(state, path)
    enc = load_damsm_text_encoder(path, max_words=None)
    assert enc.vocab_size == 40 and enc.embedding_dim == 300 and enc.hidden_dim == 256
    assert enc.frozen and not enc.training
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([3, 7, 1, 5, 7])  # unsorted, with ties
    ids = torch.randint(1, 40, (5, 7), generator=g) * (torch.arange(7)[None] < lengths[:, None])
    out = enc(ids, lengths)
    ref_words, ref_sentence = official_text_forward(state, ids, lengths)
    torch.testing.assert_close(out.words, ref_words, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.sentence, ref_sentence, atol=1e-5, rtol=0)


def test_convert_maps_every_key_and_round_trips() -> None:
    state = official_text_state_dict(vocab_size=12, emb_dim=6, hidden=4)
    converted = convert_damsm_text_state_dict(state)
    enc = DAMSMTextEncoder(12, embedding_dim=6, hidden_dim=8)
    result = enc.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for old, new in (("encoder.weight", "embedding.weight"), ("rnn.weight_hh_l0_reverse", "lstm.weight_hh_l0_reverse")):
        assert torch.equal(converted[new], state[old])
    assert convert_damsm_text_state_dict(enc.state_dict()).keys() == enc.state_dict().keys()  # ours: unchanged
    wrapped = {"module." + k: v for k, v in state.items()}  # DataParallel checkpoints
    assert convert_damsm_text_state_dict(wrapped).keys() == converted.keys()


def test_vocabulary_is_attached_and_checked() -> None:
    state = official_text_state_dict(vocab_size=4, emb_dim=6, hidden=4)
    vocab = Vocabulary(["<end>", "red", "bird", "wing"])
    enc = load_damsm_text_encoder(state, vocabulary=vocab)
    assert enc(["red bird"]).words.shape == (1, 2, 8)
    with pytest.raises(ValueError, match="vocabulary"):
        load_damsm_text_encoder(state, vocabulary=Vocabulary(["<end>", "red"]))


def test_wrong_checkpoints_are_rejected(tmp_path) -> None:
    state = official_text_state_dict(vocab_size=4, emb_dim=6, hidden=4)
    gru = {k: v for k, v in state.items()}
    gru["rnn.extra"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected"):
        load_damsm_text_encoder(gru)
    del state["rnn.bias_hh_l0"]
    with pytest.raises(ValueError, match="missing"):
        load_damsm_text_encoder(state)
    with pytest.raises(FileNotFoundError, match="path_or_state_dict"):
        load_damsm_text_encoder(tmp_path / "nope.pth")
