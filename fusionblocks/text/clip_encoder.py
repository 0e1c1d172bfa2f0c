"""CLIP text tower (open_clip) behind the [`TextEncoder`][fusionblocks.text.features.TextEncoder] interface."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_captions, check_positive_int
from .clip_short import short_text_forward
from .features import TextEncoder, TextFeatures

__all__ = ["CLIPTextEncoder"]


def _find_ln_final(model: nn.Module) -> nn.Module:
    for owner in (model, getattr(model, "text", None)):
        ln = getattr(owner, "ln_final", None) if owner is not None else None
        if isinstance(ln, nn.Module):
            return ln
    raise ValueError(
        "model_name: this open_clip model has no `ln_final` in its text tower (e.g. a Hugging Face text tower); "
        "CLIPTextEncoder needs per-token features after ln_final"
    )


class CLIPTextEncoder(TextEncoder):
    """An open_clip text tower as a fusionblocks text encoder (any open_clip model name).

    Words are the per-token outputs of the final transformer layer after ``ln_final`` (width = the text
    transformer width), optionally mapped to ``word_dim`` by a trainable ``nn.Linear``. The sentence vector is
    the pooled, projected embedding exactly as ``model.encode_text`` returns it (not normalised). The mask marks
    real tokens from the start token through the end token. ``word_dim`` and ``sentence_dim`` are read from the
    model, so builders size the fusion blocks from them (no hard-coded 512).

    Nothing is downloaded: ``pretrained`` is ``None`` (random weights) or a local checkpoint path.

    Args:
        model_name: An open_clip model name (see ``open_clip.list_models()``), e.g. ``"ViT-B-32"``.
        pretrained: ``None`` for random weights, or the path of a local ``.pt``/``.bin``/``.safetensors`` file.
        word_dim: Output width of the word features; ``None`` (or the transformer width) keeps the raw
            per-token features, anything else adds a trainable ``Linear(width, word_dim)`` (``self.word_proj``).
        freeze: Freeze the CLIP model (no gradients, eval mode, forward under ``torch.no_grad``). The optional
            word projection stays trainable.
        context_length: Tokens per caption (default: the model's, 77 for CLIP); at most the model's. A shorter
            context is padded to the model's length inside the forward and the words are cut back, which is exact
            for causal text towers (CLIP) and saves fusion-block compute on the word axis.

    Raises:
        ValueError: ``pretrained`` is not ``None`` and not an existing file; the model has no ``ln_final``.

    Shapes:
        forward: captions ``B`` strings, or ids ``(B, L)`` long from ``tokenizer`` →
        ``TextFeatures(words (B, L, word_dim), sentence (B, sentence_dim), mask (B, L))`` with
        ``L = context_length``.
    """

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: str | os.PathLike | None = None,
        word_dim: int | None = None,
        freeze: bool = True,
        context_length: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model_name, str) or not model_name:
            raise TypeError(f"model_name: expected an open_clip model name, got {model_name!r}")
        if pretrained is not None and not os.path.isfile(os.fspath(pretrained)):
            raise ValueError(
                f"pretrained: expected None or the path of a local weights file, got {pretrained!r} "
                "(fusionblocks never downloads weights; fetch them yourself and pass the file path)"
            )
        if context_length is not None:
            check_positive_int(context_length, "context_length")
        import open_clip  # lazy: ~4 s import

        if model_name not in open_clip.list_models():
            raise ValueError(f"model_name: unknown open_clip model {model_name!r}; see open_clip.list_models()")
        model = open_clip.create_model(
            model_name, pretrained=None if pretrained is None else os.fspath(pretrained), device="cpu"
        )
        # Only the text tower is needed: drop the vision tower to save memory.
        if hasattr(model, "visual"):
            model.visual = None
        self.model = model
        self.model_name = model_name
        text_tower = getattr(model, "text", None)
        model_context = getattr(model, "context_length", None) or getattr(text_tower, "context_length", None)
        self.model_context_length = int(model_context) if model_context else None
        if context_length is not None and self.model_context_length and context_length > self.model_context_length:
            raise ValueError(
                f"context_length: {context_length} exceeds the model's context length {self.model_context_length}"
            )
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.context_length = int(context_length or self.model_context_length or self.tokenizer.context_length)
        ln_final = _find_ln_final(model)
        self._ln_final = [ln_final]  # list: keep it out of the module tree (already inside model)
        layer_norm: Any = ln_final
        width = int(layer_norm.normalized_shape[0])
        self.transformer_width = width
        self.sentence_dim = self._infer_sentence_dim(width)
        if word_dim is not None:
            check_positive_int(word_dim, "word_dim")
        self.word_proj: nn.Module | None = (
            nn.Linear(width, word_dim) if word_dim is not None and word_dim != width else None
        )
        self.word_dim = word_dim if word_dim is not None else width
        self._eot_id = getattr(self.tokenizer, "eot_token_id", None)
        self._model_frozen = False
        if freeze:
            self.freeze_model()

    def _infer_sentence_dim(self, width: int) -> int:
        owner = self.model if hasattr(self.model, "text_projection") else getattr(self.model, "text", self.model)
        proj = getattr(owner, "text_projection", None)
        if isinstance(proj, nn.Linear):
            return int(proj.out_features)
        if isinstance(proj, torch.Tensor):
            return int(proj.shape[-1])
        if proj is None:
            return width
        with torch.no_grad():  # unusual projection module: measure it
            length = self.model_context_length or self.context_length
            return int(self.model.encode_text(torch.zeros(1, length, dtype=torch.long)).shape[-1])

    # ------------------------------------------------------------------ freezing
    @property
    def model_frozen(self) -> bool:
        """Whether the CLIP model itself is frozen (the word projection may still train)."""
        return self._model_frozen or self.frozen

    def freeze_model(self) -> "CLIPTextEncoder":
        """Freeze the CLIP model only (the optional word projection stays trainable)."""
        self._model_frozen = True
        self.model.requires_grad_(False)
        self.model.eval()
        return self

    def unfreeze(self) -> "CLIPTextEncoder":
        """Make everything trainable again (CLIP included)."""
        self._model_frozen = False
        super().unfreeze()
        return self

    def train(self, mode: bool = True) -> "CLIPTextEncoder":
        """Train mode for trainable parts; a frozen CLIP model stays in eval mode."""
        super().train(mode)
        if self._model_frozen:
            self.model.eval()
        return self

    # ------------------------------------------------------------------ forward
    def tokenize(self, captions: Sequence[str]) -> torch.Tensor:
        """Tokenize strings with the model's own tokenizer.

        Shapes:
            ``B`` strings → ``(B, context_length)`` long.
        """
        return self.tokenizer(check_captions(captions), context_length=self.context_length)

    def _token_mask(self, ids: torch.Tensor) -> torch.Tensor:
        if self._eot_id is not None:
            is_eot = ids == self._eot_id
            eot_pos = torch.where(is_eot.any(dim=1), is_eot.int().argmax(dim=1), ids.shape[1] - 1)
        else:
            eot_pos = ids.argmax(dim=1)
        return torch.arange(ids.shape[1], device=ids.device)[None, :] <= eot_pos[:, None]

    def forward(self, captions: Sequence[str] | torch.Tensor, lengths: Any = None) -> TextFeatures:
        """Encode captions (see the class docstring for shapes). ``lengths`` is ignored (the mask comes from the
        end token).

        Shapes:
            ``B`` strings or ``(B, L)`` long → words ``(B, T, word_dim)``, sentence ``(B, sentence_dim)``,
            mask ``(B, T)`` bool, with ``T`` the longest caption of the batch (start through end token) ≤ ``L``.
        """
        device = next(self.model.parameters()).device
        if isinstance(captions, torch.Tensor):
            if captions.ndim != 2 or captions.dtype != torch.long:
                raise ValueError(
                    f"captions: expected token ids (B, L) long from the CLIP tokenizer, got shape "
                    f"{tuple(captions.shape)} dtype {captions.dtype}"
                )
            ids = captions.to(device)
        else:
            ids = self.tokenize(captions).to(device)
        steps = ids.shape[1]
        if self.model_context_length and steps > self.model_context_length:
            raise ValueError(
                f"captions: {steps} tokens exceed the model's context length {self.model_context_length}"
            )
        grad_ctx = torch.no_grad() if self.model_frozen else contextlib.nullcontext()
        with grad_ctx:
            # the standard causal tower runs only up to the batch's longest caption (exact, several times faster)
            short = short_text_forward(self.model, ids)
        if short is not None:
            words, sentence = short
        else:
            words, sentence = self._full_context_forward(ids, grad_ctx)
        mask = self._token_mask(ids)
        # Like the DAMSM encoder, T is the longest caption of the batch: positions after every caption's end
        # token are padding, and carrying them would only make every word attention downstream slower.
        steps = int(mask.sum(dim=1).max())
        words, mask = words[:, :steps], mask[:, :steps]
        words = words.float() if words.dtype == torch.float16 and device.type == "cpu" else words
        if isinstance(self.word_proj, nn.Linear):
            words = self.word_proj(words.to(self.word_proj.weight.dtype))
        return TextFeatures(words=words, sentence=sentence, mask=mask)

    def _full_context_forward(self, ids: torch.Tensor, grad_ctx: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``model.encode_text`` on the model's full context, with the words taken after ``ln_final``."""
        steps = ids.shape[1]
        model_ids = ids
        if self.model_context_length and steps < self.model_context_length:
            # Causal text towers: tokens after the end token never influence earlier ones, so padding the short
            # context to the model's length and cutting the output back is exact.
            model_ids = F.pad(ids, (0, self.model_context_length - steps))
        captured: list[torch.Tensor] = []
        handle = self._ln_final[0].register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            with grad_ctx:
                sentence = self.model.encode_text(model_ids)
        finally:
            handle.remove()
        words = captured[-1]
        if words.ndim != 3 or words.shape[:2] != model_ids.shape:  # sequence-first towers
            words = words.transpose(0, 1)
        return words, sentence

    def extra_repr(self) -> str:
        return (
            f"model_name={self.model_name!r}, word_dim={self.word_dim}, sentence_dim={self.sentence_dim}, "
            f"model_frozen={self.model_frozen}"
        )
