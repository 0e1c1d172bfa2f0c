"""Word vocabulary with AttnGAN conventions (index 0 = ``<end>``/padding) and safe ``captions.pickle`` reading."""

from __future__ import annotations

import io
import json
import os
import pickle
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import torch

from .tokenizer import tokenize

__all__ = ["Vocabulary", "AttnGANCaptions", "load_attngan_captions", "safe_unpickle", "UnsafePickleError",
           "MAX_PICKLE_BYTES"]

END_TOKEN = "<end>"


# The largest pickle the restricted unpickler reads (the released COCO captions.pickle is about 30 MB).
MAX_PICKLE_BYTES = 1 << 30


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle was refused: it references a disallowed global, would allocate far more than its own size, or is
    larger than ``MAX_PICKLE_BYTES`` (1 GiB)."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds plain containers and strings (no arbitrary code).

    Plain lists, dicts, strings and ints use pickle opcodes and never reach
    [`find_class`][fusionblocks.text.vocabulary._RestrictedUnpickler.find_class]; the only globals
    allowed are the builtins ``list``/``dict``/``str``/``int``/``bytes`` and ``_codecs.encode`` (how protocol-2
    pickles written by Python 3 spell a ``bytes`` object). ``bytes`` may not be called with a size (``bytes(10**8)``
    would turn a 29-byte pickle into 100 MB), so what comes out is never much larger than what went in.
    """

    _ALLOWED = {
        ("builtins", "list"), ("builtins", "dict"), ("builtins", "str"), ("builtins", "int"),
        ("builtins", "bytes"), ("__builtin__", "list"), ("__builtin__", "dict"), ("__builtin__", "str"),
        ("__builtin__", "int"), ("__builtin__", "bytes"), ("__builtin__", "unicode"), ("__builtin__", "long"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name} from a pickle "
                "(only lists, dicts, strings, bytes and ints are allowed)"
            )
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if name == "bytes":
            return _bytes_without_size
        if name == "unicode":
            return str
        if name == "long":
            return int
        return super().find_class("builtins", name)


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"unexpected bytes encoding {encoding!r} in pickle")
    return text.encode("latin1")


def _bytes_without_size(*args: Any) -> bytes:
    """``bytes(...)`` as a pickle may call it: from a string or a sequence, never a size to allocate."""
    if args and isinstance(args[0], int):
        raise UnsafePickleError(
            f"refusing bytes({args[0]}) in a pickle: it would allocate {args[0]} bytes from a few bytes of input"
        )
    return bytes(*args)


def _decode_strings(obj: Any) -> Any:
    """Recursively turn ``bytes`` into ``str`` (Python-2 ``str`` objects, bytes keys)."""
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    if isinstance(obj, list):
        return [_decode_strings(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_decode_strings(o) for o in obj)
    if isinstance(obj, dict):
        return {_decode_strings(k): _decode_strings(v) for k, v in obj.items()}
    return obj


def safe_unpickle(data: bytes, *, max_bytes: int = MAX_PICKLE_BYTES) -> Any:
    """Unpickle ``data`` allowing only lists, dicts, tuples, strings, bytes and ints; bytes become ``str``.

    Python-2 pickles (protocol ≤ 2) are read with ``encoding="latin1"``. Sizes are capped: ``data`` may hold at most
    ``max_bytes`` bytes, and ``bytes`` may not be called with a size, so the result is never much larger than
    ``data``.

    Raises:
        UnsafePickleError: (a ``pickle.UnpicklingError`` and a ``ValueError``) the pickle references any other
            global (e.g. a function), calls ``bytes(size)``, or is larger than ``max_bytes``.
        pickle.UnpicklingError, EOFError: the data is not a complete pickle.
    """
    if len(data) > max_bytes:
        raise UnsafePickleError(f"refusing a {len(data)}-byte pickle (the limit is max_bytes={max_bytes})")
    return _decode_strings(_RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load())


class Vocabulary:
    """Word ↔ index mapping with AttnGAN conventions.

    Index 0 is ``<end>``, used as padding (it never occurs inside a caption). Encoding uses
    [`tokenize`][fusionblocks.text.tokenizer.tokenize] and drops unknown words, as AttnGAN's example generation does.

    Args:
        words: The vocabulary in index order. ``words[0]`` must be ``"<end>"``; if it is not, ``"<end>"`` is
            prepended.

    Raises:
        ValueError: ``words`` contains duplicates or non-strings.

    Shapes:
        [`encode_batch`][fusionblocks.text.vocabulary.Vocabulary.encode_batch] → ids ``(B, T)`` long, lengths ``(B,)``
        long.

    Example:
        >>> vocab = Vocabulary.build(["a red bird", "a blue bird"])
        >>> vocab.encode("A red bird, singing")
        [1, 2, 3]
    """

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if not words or words[0] != END_TOKEN:
            words = [END_TOKEN, *words]
        bad = [w for w in words if not isinstance(w, str)]
        if bad:
            raise ValueError(f"words: expected strings, got {type(bad[0]).__name__} ({bad[0]!r})")
        index = {w: i for i, w in enumerate(words)}
        if len(index) != len(words):
            dup = sorted({w for w in words if words.count(w) > 1})[:5]
            raise ValueError(f"words: duplicate entries {dup}")
        self.itos: list[str] = words
        self.stoi: dict[str, int] = index

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 0) -> "Vocabulary":
        """Build from raw captions; words get indices 1.. in order of first appearance.

        Args:
            captions: Raw caption strings.
            min_count: Keep words seen at least this many times (AttnGAN's threshold 0 keeps all).
        """
        counts: dict[str, int] = {}
        for i, caption in enumerate(captions):
            if not isinstance(caption, str):
                raise TypeError(f"captions: item {i} is {type(caption).__name__}, expected str")
            for token in tokenize(caption):
                counts[token] = counts.get(token, 0) + 1
        return cls([w for w, c in counts.items() if c >= min_count and w != END_TOKEN])

    @classmethod
    def from_ixtoword(cls, ixtoword: Mapping[int, str]) -> "Vocabulary":
        """Build from AttnGAN's ``ixtoword`` dict (indices must be exactly 0..N-1, 0 = ``<end>``)."""
        n = len(ixtoword)
        if sorted(int(k) for k in ixtoword) != list(range(n)):
            raise ValueError("ixtoword: expected keys 0..N-1 without gaps")
        words = [str(ixtoword[i]) for i in range(n)]
        if words[0] != END_TOKEN:
            raise ValueError(f"ixtoword: index 0 must be {END_TOKEN!r}, got {words[0]!r}")
        return cls(words)

    @classmethod
    def from_attngan_pickle(cls, path: str | os.PathLike) -> "Vocabulary":
        """Read the vocabulary of an AttnGAN/DM-GAN ``captions.pickle`` (see
        [`load_attngan_captions`][fusionblocks.text.vocabulary.load_attngan_captions]).
        """
        return load_attngan_captions(path).vocabulary

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON (``{"format": ..., "words": [...]}``)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"format": "fusionblocks.vocabulary/1", "words": self.itos}, f)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        """Read a vocabulary written by [`save`][fusionblocks.text.vocabulary.Vocabulary.save].

        Raises:
            FileNotFoundError: No such file (named).
            ValueError: The file is not UTF-8 JSON, not a vocabulary file, or its word list is invalid; the message
                names the file.
        """
        where = f"path: {os.fspath(path)!r}"
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{where}: no such vocabulary file")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{where} is not a fusionblocks vocabulary JSON file ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("words"), list):
            raise ValueError(f"{where} is not a fusionblocks vocabulary JSON file (expected {{\"words\": [...]}})")
        try:
            return cls(data["words"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: invalid vocabulary: {exc}") from exc

    # ------------------------------------------------------------------ use
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: object) -> bool:
        return word in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)})"

    def encode(self, caption: str) -> list[int]:
        """Tokenize ``caption`` and map tokens to indices, dropping words not in the vocabulary."""
        return [self.stoi[t] for t in tokenize(caption) if t in self.stoi and t != END_TOKEN]

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Join the words of ``ids`` with spaces, skipping padding (0).

        Shapes:
            ids: ``(T,)``.
        """
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return " ".join(self.itos[i] for i in ids if i != 0)

    def encode_batch(
        self, captions: Sequence[str], max_words: int | None = None, allow_empty: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode captions into a right-padded id matrix and their lengths.

        Args:
            captions: ``B`` caption strings.
            max_words: Keep at most the first ``max_words`` known words of each caption (None: no cap).
            allow_empty: Allow captions with no known word (length 0). By default they raise.

        Raises:
            TypeError: ``captions`` is a single string or contains non-strings.
            ValueError: ``captions`` is empty, or a caption has no in-vocabulary word.

        Shapes:
            ids: ``(B, T)`` long with ``T = max(lengths)`` (at least 1), 0-padded; lengths: ``(B,)`` long.
        """
        if isinstance(captions, str):
            raise TypeError("captions: expected a sequence of strings, got a single str (wrap it in a list)")
        captions = list(captions)
        if not captions:
            raise ValueError("captions: expected at least one caption, got an empty sequence")
        encoded = []
        for i, caption in enumerate(captions):
            if not isinstance(caption, str):
                raise TypeError(f"captions: item {i} is {type(caption).__name__}, expected str")
            ids = self.encode(caption)
            if max_words is not None:
                ids = ids[:max_words]
            encoded.append(ids)
        empty = [i for i, ids in enumerate(encoded) if not ids]
        if empty and not allow_empty:
            raise ValueError(
                f"captions: caption(s) at index {empty[:8]} have no in-vocabulary word "
                f"(e.g. {captions[empty[0]]!r}); every caption needs at least one known word"
            )
        lengths = torch.tensor([len(ids) for ids in encoded], dtype=torch.long)
        out = torch.zeros(len(encoded), max(1, int(lengths.max())), dtype=torch.long)
        for i, ids in enumerate(encoded):
            if ids:
                out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out, lengths


@dataclass
class AttnGANCaptions:
    """Contents of an AttnGAN/DM-GAN/FF-GAN ``captions.pickle``.

    Attributes:
        train: Train captions as lists of word indices (no end token), ``image_index * captions_per_image + k``.
        test: Test captions, same layout.
        vocabulary: The vocabulary (``ixtoword``); keep it to stay compatible with released DAMSM weights.
    """

    train: list[list[int]]
    test: list[list[int]]
    vocabulary: Vocabulary


def load_attngan_captions(path: str | os.PathLike) -> AttnGANCaptions:
    """Safely read ``[train_caps, test_caps, ixtoword, wordtoix]`` from an AttnGAN ``captions.pickle``.

    Works for protocol-2 pickles written by Python 2 (byte strings decoded; bytes keys become ``str``). Only
    plain containers, strings and ints are allowed: a pickle referencing anything else is refused.

    Args:
        path: The pickle file.

    Raises:
        FileNotFoundError: No such file (named).
        UnsafePickleError: the file references a disallowed global or is too large (a ``ValueError`` naming the file).
        ValueError: the file is not a complete pickle, the content does not have the AttnGAN layout, or
            ``ixtoword``/``wordtoix`` disagree; every message names the file.
    """
    where = f"path: {os.fspath(path)!r}"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: no such captions pickle")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        data = safe_unpickle(raw)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{where}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a corrupt pickle can raise almost anything; all mean "not readable"
        raise ValueError(f"{where} is not a readable captions pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, (list, tuple)) or len(data) != 4:
        raise ValueError(
            f"{where}: expected [train_caps, test_caps, ixtoword, wordtoix], "
            f"got {type(data).__name__}" + (f" of length {len(data)}" if isinstance(data, (list, tuple)) else "")
        )
    train, test, ixtoword, wordtoix = data
    if not isinstance(ixtoword, dict) or not isinstance(wordtoix, dict):
        raise ValueError(f"{where}: ixtoword and wordtoix must be dicts")
    try:
        vocabulary = Vocabulary.from_ixtoword({int(k): v for k, v in ixtoword.items()})
        for word, ix in wordtoix.items():
            if vocabulary.stoi.get(word) != int(ix):
                raise ValueError(f"wordtoix[{word!r}] = {ix} disagrees with ixtoword")
        caps = []
        for name, split in (("train_caps", train), ("test_caps", test)):
            if not isinstance(split, (list, tuple)):
                raise ValueError(f"{name} must be a list of captions, got {type(split).__name__}")
            caps.append([[int(i) for i in cap] for cap in split])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc
    return AttnGANCaptions(train=caps[0], test=caps[1], vocabulary=vocabulary)
