"""DAMSM (re)training of a text encoder and an image encoder with the DAMSM word + sentence losses
([FF-GAN: DAMSM pre-training][ffgan-damsm-pretraining]).

Same objective and hyper-parameters as AttnGAN's ``pretrain_DAMSM.py``, with its slips fixed:
one Adam for the whole run (the official script re-created it every epoch, resetting its moments), the frozen
Inception backbone kept in eval mode (its BatchNorm statistics drifted), validation averaged over the batches
actually seen, and batches that need not be sorted by caption length.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence

import torch
from einops import rearrange
from safetensors.torch import save_file
from torch import nn

from ..losses import damsm_sentence_loss, damsm_word_loss
from ..text import DAMSMTextEncoder

__all__ = ["DAMSMBatch", "DAMSMHistory", "pretrain_damsm", "damsm_losses", "evaluate_damsm", "parse_damsm_batch"]

logger = logging.getLogger(__name__)

LOSS_NAMES = ("word0", "word1", "sent0", "sent1")


@dataclass
class DAMSMBatch:
    """One DAMSM training batch.

    Attributes:
        images: Images in ``[-1, 1]``.
        captions: ``B`` strings, or token ids ``(B, T)`` long.
        lengths: Caption lengths with token ids (``None`` with strings or right-padded ids).
        class_ids: Optional class of each image (same-class non-matching pairs are left out of the loss).
        negative_captions: Optional hard negatives: ``K`` caption strings per image, each false for that image
            (e.g. from ``CaptionedShapes(hard_negatives=K)``); they join the image's candidates in the
            image-picks-caption terms (``word0``, ``sent0``).

    Shapes:
        images ``(B, 3, H, W)``; captions ``B`` strings or ``(B, T)``; lengths ``(B,)``; class_ids ``(B,)``;
        negative_captions ``B`` lists of ``K`` strings.
    """

    images: torch.Tensor
    captions: Sequence[str] | torch.Tensor
    lengths: torch.Tensor | None = None
    class_ids: torch.Tensor | None = None
    negative_captions: Sequence[Sequence[str]] | None = None


@dataclass
class DAMSMHistory:
    """Per-step training record and per-epoch validation record of
    [`pretrain_damsm`][fusionblocks.train.damsm_pretrain.pretrain_damsm].

    Attributes:
        step, epoch, lr, loss, word0, word1, sent0, sent1: one entry per optimiser step (``loss`` is the sum
            of the four terms).
        val: one dict per validation run: ``{"epoch", "loss", "word0", "word1", "sent0", "sent1", "batches"}``.
    """

    step: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    word0: list[float] = field(default_factory=list)
    word1: list[float] = field(default_factory=list)
    sent0: list[float] = field(default_factory=list)
    sent1: list[float] = field(default_factory=list)
    val: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON serialisable)."""
        return asdict(self)


def _uses_token_ids(text_encoder: nn.Module) -> bool:
    return isinstance(text_encoder, DAMSMTextEncoder)


def parse_damsm_batch(batch: Any, text_encoder: nn.Module | None = None) -> DAMSMBatch:
    """Normalise what a loader yields into a [`DAMSMBatch`][fusionblocks.train.damsm_pretrain.DAMSMBatch].

    Accepted forms:

    * a [`DAMSMBatch`][fusionblocks.train.damsm_pretrain.DAMSMBatch];
    * a tuple/list ``(images, captions)``, ``(images, captions, class_ids)`` or
      ``(images, ids, lengths, class_ids)``, where ``captions`` is a list of strings, an id tensor, or a pair
      ``(ids, lengths)``;
    * a dict as made by [`fusionblocks.data.collate_captions`][fusionblocks.data.collate.collate_captions]: ``image``
      (or the last of ``images``),
      ``captions`` and/or ``tokens`` + ``lengths``, optional ``class_ids``. Token ids are used for a
      [`DAMSMTextEncoder`][fusionblocks.text.damsm_bilstm.DAMSMTextEncoder] (they carry the dataset's word sampling) or
      when strings are
      missing; other encoders (CLIP) get the strings.

    Raises:
        TypeError: an unsupported batch type.
        ValueError: a dict without images or captions.

    Shapes:
        See [`DAMSMBatch`][fusionblocks.train.damsm_pretrain.DAMSMBatch].
    """
    if isinstance(batch, DAMSMBatch):
        return batch
    if isinstance(batch, Mapping):
        images = batch.get("image")
        if images is None and batch.get("images") is not None:
            images = batch["images"][-1] if isinstance(batch["images"], (list, tuple)) else batch["images"]
        if images is None:
            raise ValueError("batch: expected an 'image' or 'images' entry")
        captions = batch.get("captions")
        tokens = batch.get("tokens")
        strings_ok = captions is not None and all(isinstance(c, str) for c in captions)
        negatives = batch.get("negative_captions")
        if tokens is not None and (not strings_ok or text_encoder is None or _uses_token_ids(text_encoder)):
            return DAMSMBatch(images, tokens, batch.get("lengths"), batch.get("class_ids"), negatives)
        if not strings_ok:
            raise ValueError("batch: expected 'captions' (strings) or 'tokens' + 'lengths'")
        return DAMSMBatch(images, list(captions or []), None, batch.get("class_ids"), negatives)
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            images, captions = batch
            class_ids = None
        elif len(batch) == 3:
            images, captions, class_ids = batch
        elif len(batch) == 4:
            images, ids, lengths, class_ids = batch
            return DAMSMBatch(images, ids, lengths, class_ids)
        else:
            raise ValueError(f"batch: expected 2, 3 or 4 entries, got {len(batch)}")
        lengths = None
        if isinstance(captions, (tuple, list)) and len(captions) == 2 and isinstance(captions[0], torch.Tensor):
            captions, lengths = captions
        return DAMSMBatch(images, captions, lengths, class_ids)
    raise TypeError(f"batch: expected a DAMSMBatch, tuple or dict, got {type(batch).__name__}")


def damsm_losses(
    text_encoder: nn.Module,
    image_encoder: nn.Module,
    batch: DAMSMBatch,
    gamma1: float = 4.0,
    gamma2: float = 5.0,
    gamma3: float = 10.0,
    word_form: Literal["official", "paper"] = "official",
    mask_same_class: bool = True,
) -> dict[str, torch.Tensor]:
    """The four DAMSM loss terms of one batch: ``word0``, ``word1``, ``sent0``, ``sent1`` and their sum ``loss``.

    With ``mask_same_class`` (the official behaviour) same-class non-matching pairs are left out when the batch
    has class ids; the batch's ``negative_captions``, when present, are used as hard negatives.

    Shapes:
        batch: see [`DAMSMBatch`][fusionblocks.train.damsm_pretrain.DAMSMBatch]; returns scalars ``()``.
    """
    regions, codes = image_encoder(batch.images)
    text = text_encoder(batch.captions, batch.lengths)
    if text.words.shape[-1] != regions.shape[1]:
        raise ValueError(
            f"text_encoder: word features have {text.words.shape[-1]} channels but image regions have "
            f"{regions.shape[1]}; DAMSM needs one embedding width (set the image encoder's embed_dim)"
        )
    class_ids = batch.class_ids if mask_same_class else None
    negative: dict[str, Any] = {}
    sentence_negatives = None
    if batch.negative_captions is not None:
        negative, sentence_negatives = _encode_negatives(text_encoder, batch.negative_captions, len(text.sentence))
    words = damsm_word_loss(regions, text.words, text.mask, class_ids, gamma1, gamma2, gamma3, form=word_form,
                            **negative)
    sent = damsm_sentence_loss(codes, text.sentence, class_ids, gamma3, negatives=sentence_negatives)
    out = {"word0": words.loss0, "word1": words.loss1, "sent0": sent.loss0, "sent1": sent.loss1}
    out["loss"] = out["word0"] + out["word1"] + out["sent0"] + out["sent1"]
    return out


def _encode_negatives(
    text_encoder: nn.Module, negative_captions: Sequence[Sequence[str]], batch: int
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Encode ``K`` hard-negative captions per image into the loss functions' ``(B, K, ...)`` arguments."""
    if isinstance(negative_captions, (str, torch.Tensor)) or len(negative_captions) != batch:
        raise ValueError(f"negative_captions: expected {batch} lists of caption strings (one list per image)")
    counts = {len(c) if isinstance(c, (list, tuple)) else -1 for c in negative_captions}
    if len(counts) != 1 or min(counts) < 1:
        raise ValueError("negative_captions: expected the same number K >= 1 of caption strings for every image")
    flat = [c for group in negative_captions for c in group]
    if not all(isinstance(c, str) for c in flat):
        raise ValueError("negative_captions: expected caption strings")
    feats = text_encoder(flat)
    k = counts.pop()
    words = {"negative_words": rearrange(feats.words, "(b k) t e -> b k t e", b=batch, k=k),
             "negative_mask": rearrange(feats.mask, "(b k) t -> b k t", b=batch, k=k)}
    return words, rearrange(feats.sentence, "(b k) e -> b k e", b=batch, k=k)


def _to_device(batch: DAMSMBatch, device: torch.device) -> DAMSMBatch:
    def move(t: Any) -> Any:
        return t.to(device) if isinstance(t, torch.Tensor) else t

    class_ids = batch.class_ids
    if class_ids is not None and not isinstance(class_ids, torch.Tensor):
        class_ids = torch.as_tensor(class_ids)
    return DAMSMBatch(move(batch.images), move(batch.captions), move(batch.lengths), move(class_ids),
                      batch.negative_captions)


def _epoch_iterator(loader: Iterable[Any] | Callable[[], Iterable[Any]], epoch: int) -> Iterator[Any]:
    if callable(loader) and not hasattr(loader, "__iter__"):
        return iter(loader())
    for part in (getattr(loader, "dataset", None), getattr(loader, "sampler", None)):
        set_epoch = getattr(part, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
    return iter(loader)


@torch.no_grad()
def evaluate_damsm(
    text_encoder: nn.Module,
    image_encoder: nn.Module,
    loader: Iterable[Any] | Callable[[], Iterable[Any]],
    max_batches: int | None = None,
    **loss_kwargs: Any,
) -> dict[str, float]:
    """Mean DAMSM losses over (at most ``max_batches``) batches, encoders in eval mode, no gradients.

    The mean divides by the number of batches actually seen (the official script divided 51 batches by 50).
    """
    modes = (text_encoder.training, image_encoder.training)
    text_encoder.eval()
    image_encoder.eval()
    device = next(text_encoder.parameters()).device
    sums = dict.fromkeys(("loss", *LOSS_NAMES), 0.0)
    count = 0
    try:
        for raw in _epoch_iterator(loader, 0):
            if max_batches is not None and count >= max_batches:
                break
            terms = damsm_losses(text_encoder, image_encoder, _to_device(parse_damsm_batch(raw, text_encoder), device),
                                 **loss_kwargs)
            for k in sums:
                sums[k] += float(terms[k])
            count += 1
    finally:
        text_encoder.train(modes[0])
        image_encoder.train(modes[1])
    if count == 0:
        raise ValueError("loader: yielded no batches")
    return {**{k: v / count for k, v in sums.items()}, "batches": float(count)}


def _save(out_dir: str | os.PathLike, text_encoder: nn.Module, image_encoder: nn.Module, history: DAMSMHistory,
          tag: str = "") -> None:
    os.makedirs(out_dir, exist_ok=True)
    for name, module in (("text_encoder", text_encoder), ("image_encoder", image_encoder)):
        state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
        save_file(state, os.path.join(out_dir, f"{name}{tag}.safetensors"))
    vocabulary = getattr(text_encoder, "vocabulary", None)
    if vocabulary is not None and hasattr(vocabulary, "save"):
        vocabulary.save(os.path.join(out_dir, "vocabulary.json"))
    with open(os.path.join(out_dir, "history.json"), "w", encoding="utf-8") as f:
        json.dump(history.to_dict(), f)


def pretrain_damsm(
    text_encoder: nn.Module,
    image_encoder: nn.Module,
    loader: Iterable[Any] | Callable[[], Iterable[Any]],
    epochs: int | None = None,
    steps: int | None = None,
    lr: float = 0.002,
    betas: tuple[float, float] = (0.5, 0.999),
    lr_decay: float = 0.98,
    min_lr: float = 2e-4,
    grad_clip: float | None = 0.25,
    gamma1: float = 4.0,
    gamma2: float = 5.0,
    gamma3: float = 10.0,
    word_form: Literal["official", "paper"] = "official",
    mask_same_class: bool = True,
    val_loader: Iterable[Any] | Callable[[], Iterable[Any]] | None = None,
    val_batches: int | None = None,
    out_dir: str | os.PathLike | None = None,
    save_every_epochs: int | None = None,
    device: torch.device | str | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    log_every: int = 50,
) -> DAMSMHistory:
    """Train the text encoder and the trainable part of the image encoder with the DAMSM losses.

    Per step: ``loss = word0 + word1 + sent0 + sent1``
    ([`fusionblocks.losses.damsm_word_loss`][fusionblocks.losses.damsm_words.damsm_word_loss] and
    [`damsm_sentence_loss`][fusionblocks.losses.damsm_sentence.damsm_sentence_loss], γ1 = 4, γ2 = 5, γ3 = 10),
    backward, global-norm clip of the
    text-encoder gradients at ``grad_clip``, one Adam(``lr``, ``betas``) step over every parameter that requires
    gradients (frozen backbones have none). After each epoch (a full pass over ``loader``) the learning rate
    becomes ``max(lr_decay * lr, min_lr)``: 0.002 → 2e-4 after ~114 epochs, as in the official schedule but with
    one optimiser for the whole run. Encoders are put in train mode (a frozen Inception stays in eval mode).

    Args:
        text_encoder: A [`TextEncoder`][fusionblocks.text.features.TextEncoder] (e.g. ``DAMSMTextEncoder``).
        image_encoder: ``images -> (regions (B,E,h,w), code (B,E))`` (``DAMSMImageEncoder``, ``SmallImageEncoder``).
        loader: An iterable of batches (re-iterated every epoch; a DataLoader's dataset/sampler ``set_epoch`` is
            called), or a callable returning a fresh iterable per epoch. Batch forms:
            [`parse_damsm_batch`][fusionblocks.train.damsm_pretrain.parse_damsm_batch].
        epochs: Number of passes over ``loader``.
        steps: Number of optimiser steps (stops mid-epoch). Give ``epochs``, ``steps`` or both (the first
            reached ends training).
        lr: Adam learning rate (official: 0.002).
        betas: Adam betas (official: (0.5, 0.999)).
        lr_decay: Per-epoch decay factor of the learning rate.
        min_lr: Floor of the decayed learning rate.
        grad_clip: Max global norm of the text-encoder gradients (``None`` disables).
        gamma1: DAMSM γ₁ (region attention sharpness).
        gamma2: DAMSM γ₂ (word-score sharpness).
        gamma3: DAMSM γ₃ (score scale).
        word_form: Form of the DAMSM word score (``"official"`` or ``"paper"``).
        mask_same_class: Leave same-class non-matching pairs out of the losses when batches carry class ids
            (official: True). Turn it off when a class does not determine what a caption says: CaptionedShapes
            classes are (shape, colour) only, so masking them removes exactly the negatives that differ in size
            and position. Batches with ``negative_captions`` add those hard negatives in any case
            ([`DAMSMBatch`][fusionblocks.train.damsm_pretrain.DAMSMBatch]).
        val_loader: Optional validation batches, evaluated after each epoch
            ([`evaluate_damsm`][fusionblocks.train.damsm_pretrain.evaluate_damsm]).
        val_batches: Validation batches per evaluation (``None``: all of ``val_loader``).
        out_dir: If given, save ``text_encoder.safetensors``, ``image_encoder.safetensors``, ``vocabulary.json``
            (when the text encoder has one) and ``history.json`` there at the end (and every
            ``save_every_epochs`` epochs as ``*_epoch{e}.safetensors``).
        device: Where batches go (default: the text encoder's device). Encoders are not moved.
        callback: Called as ``callback(step, record)`` after every step with the float loss terms and ``lr``.
        log_every: Log through ``logging`` every this many steps.

    Returns:
        The [`DAMSMHistory`][fusionblocks.train.damsm_pretrain.DAMSMHistory].

    Raises:
        ValueError: neither ``epochs`` nor ``steps``, bad settings, an empty loader, or encoder widths that
            differ.

    Shapes:
        Batches: see [`DAMSMBatch`][fusionblocks.train.damsm_pretrain.DAMSMBatch].
    """
    if epochs is None and steps is None:
        raise ValueError("epochs: give epochs, steps or both")
    for name, value in (("epochs", epochs), ("steps", steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{name}: expected a positive integer or None, got {value!r}")
    if not (lr > 0 and 0 < lr_decay <= 1 and min_lr >= 0):
        raise ValueError(f"lr: expected lr > 0, 0 < lr_decay <= 1, min_lr >= 0; got {lr}, {lr_decay}, {min_lr}")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip: expected a positive number or None, got {grad_clip!r}")
    if device is None:
        device = next(text_encoder.parameters()).device
    device = torch.device(device)
    text_params = [p for p in text_encoder.parameters() if p.requires_grad]
    image_params = [p for p in image_encoder.parameters() if p.requires_grad]
    if not text_params and not image_params:
        raise ValueError("text_encoder: no trainable parameters in either encoder (both frozen?)")
    optimizer = torch.optim.Adam(text_params + image_params, lr=lr, betas=betas)
    loss_kwargs: dict[str, Any] = dict(gamma1=gamma1, gamma2=gamma2, gamma3=gamma3, word_form=word_form,
                                       mask_same_class=mask_same_class)
    history = DAMSMHistory()
    current_lr = lr
    step = 0
    epoch = 0
    max_epochs = epochs if epochs is not None else math.inf
    while epoch < max_epochs and (steps is None or step < steps):
        text_encoder.train()
        image_encoder.train()
        seen = 0
        stopped = False
        for raw in _epoch_iterator(loader, epoch):
            batch = _to_device(parse_damsm_batch(raw, text_encoder), device)
            terms = damsm_losses(text_encoder, image_encoder, batch, **loss_kwargs)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            if grad_clip is not None and text_params:
                torch.nn.utils.clip_grad_norm_(text_params, grad_clip)
            optimizer.step()
            step += 1
            seen += 1
            record = {k: float(v.detach()) for k, v in terms.items()}
            record["lr"] = current_lr
            history.step.append(step)
            history.epoch.append(epoch)
            history.lr.append(current_lr)
            for k in ("loss", *LOSS_NAMES):
                getattr(history, k).append(record[k])
            if not math.isfinite(record["loss"]):
                raise FloatingPointError(f"DAMSM loss became {record['loss']} at step {step}")
            if callback is not None:
                callback(step, record)
            if log_every and step % log_every == 0:
                logger.info("DAMSM step %d epoch %d lr %.2e loss %.4f", step, epoch, current_lr, record["loss"])
            if steps is not None and step >= steps:
                stopped = True
                break
        if seen == 0:
            raise ValueError("loader: yielded no batches")
        if stopped and not _epoch_finished(loader, seen):
            break  # stopped mid-epoch: no end-of-epoch bookkeeping
        epoch += 1
        if val_loader is not None:
            val = evaluate_damsm(text_encoder, image_encoder, val_loader, val_batches, **loss_kwargs)
            history.val.append({"epoch": float(epoch), **val})
        current_lr = max(current_lr * lr_decay, min_lr)
        for group in optimizer.param_groups:
            group["lr"] = current_lr
        if out_dir is not None and save_every_epochs and epoch % save_every_epochs == 0:
            _save(out_dir, text_encoder, image_encoder, history, tag=f"_epoch{epoch}")
    if out_dir is not None:
        _save(out_dir, text_encoder, image_encoder, history)
    return history


def _epoch_finished(loader: Any, seen: int) -> bool:
    try:
        return seen >= len(loader)
    except TypeError:
        return False
