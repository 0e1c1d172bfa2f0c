"""AttnGAN tokenizer rules, Vocabulary encoding, JSON round trip and safe captions.pickle reading (docs/ffgan.md "Data
layout")."""

from __future__ import annotations

import pickle
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.text import Vocabulary, load_attngan_captions, safe_unpickle, tokenize


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("A small, RED bird!", ["a", "small", "red", "bird"]),
        ("this bird has a white-ish belly.", ["this", "bird", "has", "a", "white", "ish", "belly"]),
        ("the café bird", ["the", "caf", "bird"]),  # non-ASCII character dropped from the token
        ("é ü bird", ["bird"]),  # tokens that become empty are dropped
        ("wing\ufffd\ufffdtail", ["wing", "tail"]),  # U+FFFD U+FFFD -> space
        ("wing\ufffdtail", ["wing", "tail"]),  # a single U+FFFD is not a word character either
        ("a_b 12 x", ["a_b", "12", "x"]),
        ("", []),
        ("...", []),
    ],
)
def test_tokenize_known_answers(caption: str, expected: list[str]) -> None:
    assert tokenize(caption) == expected


@given(st.text(max_size=60))
def test_tokenize_properties(caption: str) -> None:
    tokens = tokenize(caption)
    for t in tokens:
        assert t and t.isascii() and t == t.lower() and re.fullmatch(r"\w+", t)
    # tokenizing the joined tokens again is a fixed point
    assert tokenize(" ".join(tokens)) == tokens


def test_tokenize_rejects_non_string() -> None:
    with pytest.raises(TypeError, match="caption"):
        tokenize(b"bytes")  # type: ignore[arg-type]


def test_build_encode_decode() -> None:
    vocab = Vocabulary.build(["A red bird.", "a blue bird with a crown"])
    assert vocab.itos == ["<end>", "a", "red", "bird", "blue", "with", "crown"]
    assert vocab.stoi["bird"] == 3 and len(vocab) == 7
    assert vocab.encode("the red, red bird flies") == [2, 2, 3]  # unknown words dropped
    assert vocab.decode([2, 3, 0, 0]) == "red bird"
    ids, lengths = vocab.encode_batch(["red bird", "a blue bird with a crown", "crown"])
    assert ids.dtype == torch.long and ids.shape == (3, 6)
    assert lengths.tolist() == [2, 6, 1]
    assert ids[0].tolist() == [2, 3, 0, 0, 0, 0]
    capped, capped_len = vocab.encode_batch(["red bird", "a blue bird with a crown"], max_words=3)
    assert capped.shape == (2, 3) and capped_len.tolist() == [2, 3] and capped[1].tolist() == [1, 4, 3]


def test_build_min_count() -> None:
    vocab = Vocabulary.build(["a b", "a c", "a b"], min_count=2)
    assert vocab.itos == ["<end>", "a", "b"]


def test_encode_batch_errors() -> None:
    vocab = Vocabulary.build(["a red bird"])
    with pytest.raises(ValueError, match=r"captions: caption\(s\) at index \[1\]"):
        vocab.encode_batch(["red bird", "unknown words only"])
    ids, lengths = vocab.encode_batch(["red", "zzz"], allow_empty=True)
    assert lengths.tolist() == [1, 0] and ids[1].tolist() == [0]
    with pytest.raises(TypeError, match="captions"):
        vocab.encode_batch("a red bird")
    with pytest.raises(TypeError, match="captions: item 1"):
        vocab.encode_batch(["a", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="captions"):
        vocab.encode_batch([])


def test_vocabulary_constructor_checks() -> None:
    assert Vocabulary(["x", "y"]).itos == ["<end>", "x", "y"]
    with pytest.raises(ValueError, match="words: duplicate"):
        Vocabulary(["<end>", "x", "x"])


def test_json_round_trip(tmp_path) -> None:
    vocab = Vocabulary.build(["one two three", "two four"])
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="path"):
        Vocabulary.load(tmp_path / "bad.json")


def _attngan_payload(keys_as_bytes: bool) -> list:
    words = ["<end>", "bird", "red", "wing"]
    enc = (lambda w: w.encode("ascii")) if keys_as_bytes else (lambda w: w)
    ixtoword = {i: enc(w) for i, w in enumerate(words)}
    wordtoix = {enc(w): i for i, w in enumerate(words)}
    train = [[2, 1], [3, 1, 2]]
    test = [[1]]
    return [train, test, ixtoword, wordtoix]


@pytest.mark.parametrize("keys_as_bytes", [False, True])
def test_read_protocol2_pickle(tmp_path, keys_as_bytes: bool) -> None:
    path = tmp_path / "captions.pickle"
    path.write_bytes(pickle.dumps(_attngan_payload(keys_as_bytes), protocol=2))
    caps = load_attngan_captions(path)
    assert caps.vocabulary.itos == ["<end>", "bird", "red", "wing"]
    assert caps.train == [[2, 1], [3, 1, 2]] and caps.test == [[1]]
    assert Vocabulary.from_attngan_pickle(path) == caps.vocabulary


def test_read_python2_style_pickle(tmp_path) -> None:
    # Protocol 2 as Python 2 writes it: byte strings as SHORT_BINSTRING ('U'), which Python 3 never emits.
    def s(word: str) -> bytes:
        return b"U" + bytes([len(word)]) + word.encode("ascii")

    # Build [train, test, ixtoword, wordtoix] explicitly with opcodes.
    body = b"\x80\x02]("  # EMPTY_LIST, MARK
    body += b"]](K\x02K\x01ea"  # train = [[2, 1]]
    body += b"]](K\x01ea"  # test = [[1]]
    body += b"}(K\x00" + s("<end>") + b"K\x01" + s("bird") + b"K\x02" + s("red") + b"u"  # ixtoword
    body += b"}(" + s("<end>") + b"K\x00" + s("bird") + b"K\x01" + s("red") + b"K\x02u"  # wordtoix
    body += b"e."
    path = tmp_path / "captions.pickle"
    path.write_bytes(body)
    caps = load_attngan_captions(path)
    assert caps.vocabulary.itos == ["<end>", "bird", "red"]
    assert caps.train == [[2, 1]] and caps.test == [[1]]


class _Evil:
    def __reduce__(self):
        import os

        return (os.getcwd, ())


def test_pickle_with_code_is_refused(tmp_path) -> None:
    payload = _attngan_payload(False)
    payload[0] = [_Evil()]
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        safe_unpickle(pickle.dumps(payload, protocol=2))


def test_inconsistent_pickle_rejected(tmp_path) -> None:
    payload = _attngan_payload(False)
    payload[3]["bird"] = 3
    path = tmp_path / "c.pickle"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ValueError, match="wordtoix"):
        load_attngan_captions(path)
    path.write_bytes(pickle.dumps({"not": "a list"}, protocol=2))
    with pytest.raises(ValueError, match="path"):
        load_attngan_captions(path)
