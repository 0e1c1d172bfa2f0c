"""The Python API's side of the bad-input table: each bad call raises one error naming the argument and what it
expected (never a raw torch, difflib or range() error), and padded words never leak into the FF-Block output."""

from __future__ import annotations

import pickle

import pytest
import torch

from fusionblocks import create, get
from fusionblocks.layers import GSR, ConditioningAugmentation, DFAffine, FFBlock, UpBlock, WordContextAttention
from fusionblocks.models import StageDiscriminator
from fusionblocks.text import DAMSMTextEncoder, UnsafePickleError, Vocabulary, load_attngan_captions, safe_unpickle

F64, F16 = torch.float64, torch.float16


def _ffblock_call(dtype_x=torch.float32, dtype_w=torch.float32, device_x="cpu", mask_device="cpu"):
    block = FFBlock(8, 6)
    x = torch.randn(2, 8, 4, 4, dtype=dtype_x, device=device_x)
    words = torch.randn(2, 3, 6, dtype=dtype_w)
    mask = torch.ones(2, 3, dtype=torch.bool, device=mask_device)
    return lambda: block(x, words, mask)


def _generate(**kwargs):
    from fusionblocks.train.sampling import generate
    from tests.train.toy_gan import ToyG, ToyText

    return lambda: generate(ToyG(), ToyText(), ["a red circle"], **kwargs)


# (id, call, exception type, message that must appear)
API_TABLE = [
    ("float64 image features", _ffblock_call(dtype_x=F64), TypeError, "x: expected dtype torch.float32"),
    ("fp16 words", _ffblock_call(dtype_w=F16), TypeError, "words: expected dtype torch.float32"),
    ("meta-device features", _ffblock_call(device_x="meta"), ValueError, "x: expected a tensor on cpu"),
    ("meta-device mask", _ffblock_call(mask_device="meta"), ValueError, "mask: expected a tensor on cpu"),
    ("fp16 sentence (GSR)", lambda: GSR(8, 5)(torch.randn(2, 8, 4, 4), torch.randn(2, 5, dtype=F16)), TypeError,
     "sentence: expected dtype torch.float32"),
    ("fp16 sentence (CA)", lambda: ConditioningAugmentation(5, 4)(torch.randn(2, 5, dtype=F16)), TypeError,
     "sentence: expected dtype"),
    ("float64 cond (DFAffine)", lambda: DFAffine(4, 3)(torch.randn(2, 4, 2, 2), torch.randn(2, 3, dtype=F64)),
     TypeError, "cond: expected dtype"),
    ("float64 UpBlock input", lambda: UpBlock(4, 2)(torch.randn(1, 4, 2, 2, dtype=F64)), TypeError,
     "x: expected dtype"),
    ("float64 images (D)", lambda: StageDiscriminator(16, 4, 6)(torch.randn(2, 3, 16, 16, dtype=F64)), TypeError,
     "images: expected dtype"),
    ("bf16 model, fp32 input", lambda: WordContextAttention(4, 3).to(torch.bfloat16)(
        torch.randn(1, 4, 2, 2), torch.randn(1, 2, 3, dtype=torch.bfloat16)), TypeError,
     "x: expected dtype torch.bfloat16"),
    ("generate batch_size=0", _generate(batch_size=0), ValueError, "batch_size: expected a positive integer"),
    ("generate truncation=nan", _generate(truncation=float("nan")), ValueError, "truncation"),
    ("get with an int name", lambda: get("model", 123), TypeError, "name: expected a model name (str), got int"),
    ("get with None", lambda: get("layer", None), TypeError, "name: expected a layer name"),
    ("create unknown keyword", lambda: create("layer", "ffgan.gsr", channels=4, sentense_dim=3), TypeError,
     "did you mean 'sentence_dim'"),
    ("empty caption (DAMSM)", lambda: DAMSMTextEncoder(4, vocabulary=Vocabulary(["<end>", "a", "b", "c"]))([""]),
     ValueError, "captions: caption(s) at index [0] are empty or blank"),
    ("blank caption (DAMSM)", lambda: DAMSMTextEncoder(4, vocabulary=Vocabulary(["<end>", "a", "b", "c"]))(
        ["a", "  "]), ValueError, "at index [1] are empty or blank"),
    ("caption not a list", lambda: DAMSMTextEncoder(2, vocabulary=Vocabulary(["<end>", "a"]))("a"), TypeError,
     "wrap it in a list"),
    ("pickle bomb", lambda: safe_unpickle(b"\x80\x02c__builtin__\nbytes\nJ\x00\xe1\xf5\x05\x85R."), UnsafePickleError,
     "refusing bytes(100000000)"),
    ("pickle over the cap", lambda: safe_unpickle(pickle.dumps(["x" * 100]), max_bytes=50), UnsafePickleError,
     "the limit is max_bytes=50"),
]


@pytest.mark.parametrize("case, call, error, message", API_TABLE, ids=[row[0] for row in API_TABLE])
def test_bad_api_input_is_named(case, call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_autocast_inputs_are_accepted():
    """Under autocast the boundary check lets the autocast dtype through (activations change dtype there)."""
    block = FFBlock(8, 6)
    x, words = torch.randn(2, 8, 4, 4).bfloat16(), torch.randn(2, 3, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert block(x, words, torch.ones(2, 3, dtype=torch.bool)).shape == (2, 8, 4, 4)
    with pytest.raises(TypeError):
        block(x, words)  # and refuses it outside


# --- files: Vocabulary.load and the captions pickle name the file (these count as "files refused")
VOCAB_FILES = [
    ("not json", b"\x00\x01binary", "is not a fusionblocks vocabulary JSON file"),
    ("truncated json", b'{"words": ["<end>", "a"', "is not a fusionblocks vocabulary JSON file"),
    ("wrong layout", b"[1, 2, 3]", 'expected {"words": [...]}'),
    ("duplicate words", b'{"words": ["<end>", "a", "a"]}', "invalid vocabulary: words: duplicate"),
    ("non-string word", b'{"words": ["<end>", 3]}', "invalid vocabulary"),
]


@pytest.mark.parametrize("case, content, message", VOCAB_FILES, ids=[row[0] for row in VOCAB_FILES])
def test_vocabulary_load_names_the_file(tmp_path, case, content, message):
    path = tmp_path / "vocab.json"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        Vocabulary.load(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_vocabulary_load_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        Vocabulary.load(tmp_path / "nope.json")


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED",))


CAPTION_PICKLES = [
    ("truncated", b"\x80\x02]q\x00(K\x01", ValueError, "is not a readable captions pickle"),
    ("garbage", b"hello world", ValueError, "is not a readable captions pickle"),
    ("bomb", b"\x80\x02c__builtin__\nbytes\nJ\x00\xe1\xf5\x05\x85R.", UnsafePickleError, "refusing bytes("),
    ("code", pickle.dumps(_RunsCode(), protocol=2), UnsafePickleError, "refusing to load global posix.system"),
    ("wrong layout", pickle.dumps({"a": 1}, protocol=2), ValueError, "expected [train_caps, test_caps"),
    ("bad ixtoword", pickle.dumps([[], [], {0: "x"}, {}], protocol=2), ValueError, "ixtoword"),
]


@pytest.mark.parametrize("case, content, error, message", CAPTION_PICKLES, ids=[row[0] for row in CAPTION_PICKLES])
def test_captions_pickle_errors_name_the_file(tmp_path, monkeypatch, case, content, error, message):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "captions.pickle"
    path.write_bytes(content)
    with pytest.raises(error) as info:
        load_attngan_captions(path)
    assert str(path) in str(info.value) and message in str(info.value)
    assert isinstance(info.value, ValueError)  # one type for the CLI and callers alike
    assert not (tmp_path / "PWNED").exists()


# --- padded words never reach the output
@pytest.mark.parametrize("poison", [float("nan"), float("inf"), -float("inf"), 1e30])
@pytest.mark.parametrize("maps", [False, True])
def test_padded_word_slots_never_leak(poison, maps):
    torch.manual_seed(0)
    block = FFBlock(8, 6)
    x = torch.randn(2, 8, 4, 4)
    words = torch.randn(2, 5, 6)
    mask = torch.tensor([[True, True, True, False, False], [True, False, False, False, False]])
    clean = words.masked_fill(~mask[..., None], 0.0)
    poisoned = words.clone()
    poisoned[~mask] = poison
    out_clean = block(x, clean, mask, return_attention=maps)
    words_in = poisoned.requires_grad_(True)
    out_poisoned = block(x, words_in, mask, return_attention=maps)
    a = out_clean[0] if maps else out_clean
    b = out_poisoned[0] if maps else out_poisoned
    assert torch.isfinite(b).all() and torch.allclose(a, b, atol=1e-6)
    b.sum().backward()
    assert torch.isfinite(words_in.grad).all() and (words_in.grad[~mask] == 0).all()


def test_mask_padding_false_keeps_official_behaviour():
    """With mask_padding=False (the official FF-GAN) the mask is not applied, so padding takes part as before."""
    block = WordContextAttention(4, 3, mask_padding=False)
    x, words = torch.randn(1, 4, 2, 2), torch.randn(1, 3, 3)
    mask = torch.tensor([[True, True, False]])
    assert torch.equal(block(x, words, mask), block(x, words, None))
