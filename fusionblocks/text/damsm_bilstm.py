"""AttnGAN's DAMSM text encoder: word embedding + 1-layer bidirectional LSTM
([FF-GAN: DAMSM encoders][ffgan-damsm-encoders])."""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._checks import check_captions, check_positive_int
from .features import TextEncoder, TextFeatures
from .vocabulary import Vocabulary

__all__ = ["DAMSMTextEncoder", "prepare_token_ids"]


def prepare_token_ids(
    ids: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None, max_words: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate right-padded token ids, infer/check lengths, apply the ``max_words`` cap.

    Args:
        ids: Token ids, 0 = padding, real tokens first.
        lengths: True lengths; ``None`` infers them as the number of non-zero ids.
        max_words: Cap on the length (first ``max_words`` tokens kept); ``None`` for no cap.

    Returns:
        ``(ids, lengths)`` with ids cut to ``T = max(lengths)``.

    Raises:
        TypeError: ``ids`` is not an integer tensor.
        ValueError: bad shapes, lengths out of range, a zero length, or padding inside a caption.

    Shapes:
        ids: ``(B, T0)`` long; lengths: ``(B,)`` → ids ``(B, T)``, lengths ``(B,)`` long on ``ids.device``.
    """
    if ids.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8):
        raise TypeError(f"captions: expected an integer tensor of token ids, got dtype {ids.dtype}")
    if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
        raise ValueError(f"captions: expected token ids of shape (B, T) with B, T >= 1, got {tuple(ids.shape)}")
    ids = ids.long()
    if lengths is None:
        lengths = (ids != 0).sum(dim=1)
        positions = torch.arange(ids.shape[1], device=ids.device)[None, :]
        if bool(((ids != 0) != (positions < lengths[:, None])).any()):
            raise ValueError(
                "lengths: could not infer lengths because some captions have padding (0) before a real token; "
                "pass lengths explicitly or right-pad the ids"
            )
    else:
        lengths = torch.as_tensor(lengths, device=ids.device)
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise TypeError(f"lengths: expected integer lengths, got dtype {lengths.dtype}")
        lengths = lengths.long()
        if lengths.shape != (ids.shape[0],):
            raise ValueError(f"lengths: expected shape ({ids.shape[0]},) to match captions, got {tuple(lengths.shape)}")
        if bool((lengths > ids.shape[1]).any()):
            raise ValueError(f"lengths: values must be <= T = {ids.shape[1]}, got max {int(lengths.max())}")
    if bool((lengths <= 0).any()):
        bad = (lengths <= 0).nonzero().flatten().tolist()[:8]
        raise ValueError(
            f"lengths: caption(s) at batch index {bad} have length 0 (no in-vocabulary word); "
            "every caption needs at least one token"
        )
    if max_words is not None:
        lengths = lengths.clamp(max=max_words)
    t = int(lengths.max())
    return ids[:, :t], lengths


class DAMSMTextEncoder(TextEncoder):
    """AttnGAN/DM-GAN/FF-GAN DAMSM text encoder (``RNN_ENCODER``), with unsorted batches accepted.

    Embedding (uniform ±0.1) → dropout → 1-layer bidirectional LSTM with ``hidden_dim // 2`` units per
    direction, zero initial state, run on packed sequences (``enforce_sorted=False``, so batches need not be
    sorted by length). Word features are ``[h_fwd_t; h_bwd_t]`` at every step, zero at padding; the sentence
    vector is ``[h_fwd_last; h_bwd_first]``. Load the released AttnGAN/DM-GAN weights with
    [`fusionblocks.text.load_damsm_text_encoder`][fusionblocks.text.damsm_convert.load_damsm_text_encoder].

    Args:
        vocab_size: Number of words including index 0 (``<end>``/padding). May be omitted when ``vocabulary``
            is given (then it is ``len(vocabulary)``).
        embedding_dim: Word-embedding width (300 in the official code).
        hidden_dim: Output width of word and sentence features (both directions together; must be even).
        max_words: Keep at most the first ``max_words`` tokens of each caption (``None``: no cap). AttnGAN
            trains with 18 (CUB) / 12–15 (COCO); at training time its data loader drops random words instead.
        dropout: Dropout probability on the embeddings (train mode only).
        vocabulary: Needed to encode raw strings; token ids are accepted without it.

    Raises:
        ValueError: bad sizes, or ``vocab_size`` disagrees with ``len(vocabulary)``.

    Shapes:
        forward: captions ``B`` strings, or ids ``(B, T0)`` long (0 = padding, right-padded) with optional
        lengths ``(B,)`` → ``TextFeatures(words (B, T, hidden_dim), sentence (B, hidden_dim), mask (B, T))`` with
        ``T`` = longest (capped) caption in the batch.

    Example:
        >>> vocab = Vocabulary.build(["a small red bird", "a bird with a blue crown"])
        >>> enc = DAMSMTextEncoder(vocabulary=vocab)
        >>> enc(["a small red bird"]).words.shape
        torch.Size([1, 4, 256])
    """

    uses_vocabulary: ClassVar[bool] = True

    def __init__(
        self,
        vocab_size: int | None = None,
        embedding_dim: int = 300,
        hidden_dim: int = 256,
        max_words: int | None = 18,
        dropout: float = 0.5,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        super().__init__()
        if vocabulary is not None and not isinstance(vocabulary, Vocabulary):
            raise TypeError(f"vocabulary: expected a fusionblocks.text.Vocabulary, got {type(vocabulary).__name__}")
        if vocab_size is None:
            if vocabulary is None:
                raise ValueError("vocab_size: give vocab_size or a vocabulary")
            vocab_size = len(vocabulary)
        check_positive_int(vocab_size, "vocab_size")
        if vocabulary is not None and len(vocabulary) != vocab_size:
            raise ValueError(f"vocab_size: {vocab_size} disagrees with len(vocabulary) = {len(vocabulary)}")
        check_positive_int(embedding_dim, "embedding_dim")
        check_positive_int(hidden_dim, "hidden_dim")
        if hidden_dim % 2:
            raise ValueError(f"hidden_dim: must be even (two LSTM directions), got {hidden_dim}")
        if max_words is not None:
            check_positive_int(max_words, "max_words")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.max_words = max_words
        self.vocabulary = vocabulary
        self.word_dim = hidden_dim
        self.sentence_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, batch_first=True, bidirectional=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Embedding uniform(−0.1, 0.1) as in AttnGAN; LSTM keeps PyTorch's default initialisation."""
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.lstm.reset_parameters()

    def encode_captions(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Strings → ``(ids, lengths)`` with this encoder's vocabulary and ``max_words`` cap.

        Raises:
            ValueError: the encoder has no vocabulary, or a caption has no known word.

        Shapes:
            ids ``(B, T)`` long, lengths ``(B,)`` long, on the encoder's device.
        """
        if self.vocabulary is None:
            raise ValueError(
                "captions: this DAMSMTextEncoder has no vocabulary, so it cannot encode strings; "
                "pass vocabulary=... at construction or give token ids and lengths"
            )
        captions = check_captions(captions)
        ids, lengths = self.vocabulary.encode_batch(captions, max_words=self.max_words)
        device = self.embedding.weight.device
        return ids.to(device), lengths.to(device)

    def forward(
        self, captions: Sequence[str] | torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
    ) -> TextFeatures:
        """Encode captions (see the class docstring for shapes).

        Shapes:
            captions ``B`` strings or ``(B, T0)`` long, lengths ``(B,)`` →
            words ``(B, T, hidden_dim)``, sentence ``(B, hidden_dim)``, mask ``(B, T)`` bool.
        """
        if isinstance(captions, torch.Tensor):
            ids, lengths = prepare_token_ids(captions.to(self.embedding.weight.device), lengths, self.max_words)
        else:
            if lengths is not None:
                raise ValueError("lengths: only used with token-id tensors; strings are tokenized by the encoder")
            ids, lengths = self.encode_captions(captions)
        if bool((ids >= self.vocab_size).any()) or bool((ids < 0).any()):
            raise ValueError(f"captions: token ids must be in [0, {self.vocab_size}), got max {int(ids.max())}")
        batch, steps = ids.shape
        emb = self.dropout(self.embedding(ids))
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        words, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
        sentence = h_n.transpose(0, 1).reshape(batch, self.hidden_dim)  # [h_fwd_last; h_bwd_first]
        mask = torch.arange(steps, device=ids.device)[None, :] < lengths[:, None]
        return TextFeatures(words=words, sentence=sentence, mask=mask)

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, max_words={self.max_words}, frozen={self.frozen}"
