"""DAMSMTextEncoder: shapes, parameter counts, reference forward, order/padding invariance, freezing, errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionblocks import create
from fusionblocks.text import DAMSMTextEncoder, TextEncoder, TextFeatures, Vocabulary

from ._reference import official_text_forward

CAPTIONS = ["a small red bird", "bird", "a bird with a blue crown and a red belly", "blue crown"]


def _vocab() -> Vocabulary:
    return Vocabulary.build(CAPTIONS)


def _small(**kwargs) -> DAMSMTextEncoder:
    kwargs.setdefault("embedding_dim", 12)
    kwargs.setdefault("hidden_dim", 16)
    kwargs.setdefault("vocabulary", _vocab())
    return DAMSMTextEncoder(**kwargs).eval()


def _official_state(enc: DAMSMTextEncoder) -> dict:
    return {k.replace("embedding.", "encoder.").replace("lstm.", "rnn."): v for k, v in enc.state_dict().items()}


@pytest.mark.parametrize("vocab_size, expected", [(5450, 2_075_320), (27297, 8_629_420)])
def test_parameter_counts_match_official(vocab_size: int, expected: int) -> None:
    enc = DAMSMTextEncoder(vocab_size)
    assert sum(p.numel() for p in enc.parameters()) == expected
    assert enc.word_dim == enc.sentence_dim == 256
    assert enc.lstm.dropout == 0  # no dropout= argument on a 1-layer LSTM


def test_init_distribution() -> None:
    enc = DAMSMTextEncoder(500)
    w = enc.embedding.weight
    assert w.min() >= -0.1 and w.max() <= 0.1 and w.std() > 0.05  # uniform(-0.1, 0.1) has std 0.0577


def test_shapes_and_mask_from_strings() -> None:
    enc = _small(max_words=None)
    out = enc(CAPTIONS)
    assert isinstance(out, TextFeatures) and isinstance(enc, TextEncoder)
    assert out.words.shape == (4, 10, 16) and out.sentence.shape == (4, 16)
    assert out.mask.dtype == torch.bool
    assert out.mask.sum(1).tolist() == [4, 1, 10, 2]
    assert torch.all(out.words[~out.mask] == 0)  # padded steps are zero, as pad_packed_sequence gives


def test_max_words_caps_length() -> None:
    enc = _small(max_words=3)
    out = enc(CAPTIONS)
    assert out.words.shape[1] == 3 and out.mask.sum(1).tolist() == [3, 1, 3, 2]
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    assert enc(ids).words.shape[1] == 3


def test_matches_official_sorted_forward() -> None:
    enc = _small(max_words=None)
    ids, lengths = enc.vocabulary.encode_batch(CAPTIONS)
    out = enc(ids, lengths)
    ref_words, ref_sentence = official_text_forward(_official_state(enc), ids, lengths)
    torch.testing.assert_close(out.words, ref_words, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.sentence, ref_sentence, atol=1e-5, rtol=0)


def test_sentence_is_fwd_last_and_bwd_first() -> None:
    enc = _small(max_words=None)
    out = enc(CAPTIONS)
    half = enc.hidden_dim // 2
    last = out.mask.sum(1) - 1
    fwd_last = out.words[torch.arange(4), last, :half]
    bwd_first = out.words[:, 0, half:]
    torch.testing.assert_close(out.sentence, torch.cat([fwd_last, bwd_first], dim=1))


_SHARED: dict[str, DAMSMTextEncoder] = {}


@settings(max_examples=10)
@given(st.permutations(list(range(4))))
def test_batch_order_does_not_matter(perm: list[int]) -> None:
    enc = _SHARED.setdefault("enc", _small(max_words=None))
    ids, lengths = enc.vocabulary.encode_batch(CAPTIONS)
    base = enc(ids, lengths)
    p = torch.tensor(perm)
    out = enc(ids[p], lengths[p])
    t = out.words.shape[1]
    torch.testing.assert_close(out.words, base.words[p][:, :t], atol=1e-6, rtol=0)
    torch.testing.assert_close(out.sentence, base.sentence[p], atol=1e-6, rtol=0)
    assert torch.equal(out.mask, base.mask[p][:, :t])


def test_padding_content_and_extra_padding_do_not_matter() -> None:
    enc = _small(max_words=None)
    ids, lengths = enc.vocabulary.encode_batch(CAPTIONS)
    base = enc(ids, lengths)
    padded = torch.cat([ids, torch.zeros(4, 5, dtype=torch.long)], dim=1)
    garbage = padded.clone()
    garbage[padded == 0] = 3  # any id at padded positions, lengths given explicitly
    for variant in (padded, garbage):
        out = enc(variant, lengths)
        torch.testing.assert_close(out.words, base.words)
        torch.testing.assert_close(out.sentence, base.sentence)
    # lengths inferred from right padding
    torch.testing.assert_close(enc(padded).sentence, base.sentence)


def test_each_caption_independent_of_batch() -> None:
    enc = _small(max_words=None)
    batch = enc(CAPTIONS)
    for i, caption in enumerate(CAPTIONS):
        alone = enc([caption])
        n = alone.words.shape[1]
        torch.testing.assert_close(alone.words[0], batch.words[i, :n], atol=1e-6, rtol=0)
        torch.testing.assert_close(alone.sentence[0], batch.sentence[i], atol=1e-6, rtol=0)


def test_dropout_in_train_mode_and_freeze() -> None:
    enc = _small().train()
    a, b = enc(CAPTIONS).sentence, enc(CAPTIONS).sentence
    assert not torch.allclose(a, b)  # dropout 0.5 on the embeddings is active
    enc.freeze()
    assert enc.frozen and not enc.training
    assert all(not p.requires_grad for p in enc.parameters())
    enc.train()  # a parent calling .train() must not switch dropout back on
    assert not enc.training
    out1, out2 = enc(CAPTIONS), enc(CAPTIONS)
    torch.testing.assert_close(out1.sentence, out2.sentence)
    assert not out1.words.requires_grad
    enc.unfreeze().train()
    assert enc.training and all(p.requires_grad for p in enc.parameters())


def test_gradients_flow_when_trainable() -> None:
    enc = _small()
    out = enc(CAPTIONS)
    (out.words.sum() + out.sentence.sum()).backward()
    assert enc.embedding.weight.grad is not None and enc.lstm.weight_hh_l0.grad.abs().sum() > 0


def test_bad_inputs_name_the_argument() -> None:
    enc = _small()
    with pytest.raises(ValueError, match="lengths: .*length 0"):
        enc(torch.tensor([[1, 2], [0, 0]]), torch.tensor([2, 0]))
    with pytest.raises(ValueError, match="lengths"):
        enc(torch.tensor([[1, 2], [0, 0]]))  # inferred zero length
    with pytest.raises(ValueError, match="captions: caption"):
        enc(["a red bird", "zzz qqq"])  # no known word
    with pytest.raises(ValueError, match="lengths: expected shape"):
        enc(torch.tensor([[1, 2]]), torch.tensor([2, 1]))
    with pytest.raises(ValueError, match="lengths: values must be"):
        enc(torch.tensor([[1, 2]]), torch.tensor([3]))
    with pytest.raises(ValueError, match="lengths: could not infer"):
        enc(torch.tensor([[1, 0, 2]]))
    with pytest.raises(TypeError, match="captions"):
        enc(torch.rand(2, 3))
    with pytest.raises(ValueError, match="captions: token ids"):
        enc(torch.tensor([[999]]))
    with pytest.raises(ValueError, match="lengths: only used"):
        enc(["a red bird"], torch.tensor([3]))
    with pytest.raises(ValueError, match="captions: this DAMSMTextEncoder has no vocabulary"):
        DAMSMTextEncoder(10)(["a bird"])
    with pytest.raises(ValueError, match="vocab_size"):
        DAMSMTextEncoder()
    with pytest.raises(ValueError, match="vocab_size"):
        DAMSMTextEncoder(3, vocabulary=_vocab())
    with pytest.raises(ValueError, match="hidden_dim"):
        DAMSMTextEncoder(10, hidden_dim=7)
    with pytest.raises(ValueError, match="max_words"):
        DAMSMTextEncoder(10, max_words=0)


def test_registry_create() -> None:
    enc = create("text_encoder", "text.damsm_bilstm", vocabulary=_vocab(), embedding_dim=8, hidden_dim=8)
    assert isinstance(enc, DAMSMTextEncoder) and enc.word_dim == 8
