"""Input checks shared by every module: each error names the argument, the expectation and what came in.

Every public forward validates its inputs with these helpers so that nothing is silently broadcast
across a mismatched batch, channel or length dimension. Given ``like=`` (the module, or one of its
parameters), they also check the boundary dtype and device: a float64 image, an fp16 sentence or a
tensor on another device (including ``meta``) is named here instead of failing deep inside torch.
Under ``torch.autocast`` for the module's device, float32 and the autocast dtype are both accepted.
"""

from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

__all__ = [
    "check_tensor",
    "check_image_features",
    "check_images",
    "check_words",
    "check_sentence",
    "check_mask",
    "check_same_batch",
    "check_positive_int",
    "check_captions",
    "Like",
    "check_like",
    "lengths_to_mask",
]


Like = Union[torch.Tensor, nn.Module, None]


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def _reference(like: Like) -> torch.Tensor | None:
    if isinstance(like, nn.Module):
        for parameter in like.parameters():
            return parameter
        for buffer in like.buffers():
            if buffer.is_floating_point():
                return buffer
        return None
    return like


def check_like(value: torch.Tensor, name: str, like: Like) -> torch.Tensor:
    """``value`` must be on the device of ``like`` (a module or tensor) and, if floating, have its dtype.

    Under ``torch.autocast`` enabled for that device type, a floating ``value`` may also be float32 or the
    autocast dtype (activations change dtype between layers there). Integer and bool tensors are only checked
    for their device. A module without parameters or floating buffers checks nothing.

    Shapes:
        Any shape.
    """
    ref = _reference(like)
    if ref is None:
        return value
    if value.device != ref.device:
        raise ValueError(
            f"{name}: expected a tensor on {ref.device} (where the module's weights are), got one on {value.device}; "
            f"move it with .to({str(ref.device)!r})"
        )
    if value.is_floating_point() and value.dtype != ref.dtype:
        allowed = [ref.dtype]
        device_type = ref.device.type
        if device_type in ("cpu", "cuda", "mps", "xpu") and torch.is_autocast_enabled(device_type):
            allowed += [torch.get_autocast_dtype(device_type), torch.float32]
        if value.dtype not in allowed:
            listing = " or ".join(dict.fromkeys(str(d) for d in allowed))
            raise TypeError(
                f"{name}: expected dtype {listing} (the module's weights are {ref.dtype}), got {value.dtype}; "
                f"convert it with .to({ref.dtype}) or run the module under torch.autocast"
            )
    return value


def check_tensor(
    value: object, name: str, *, ndim: int | None = None, floating: bool = True, like: Like = None
) -> torch.Tensor:
    """Check that ``value`` is a tensor of rank ``ndim`` (and floating point if ``floating``); with ``like``,
    also its device and dtype ([`check_like`][fusionblocks._checks.check_like])."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D tensor, got shape {_shape(value)} ({value.ndim}-D)")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {value.dtype}")
    if like is not None:
        check_like(value, name, like)
    return value


def check_image_features(x: object, name: str, channels: int | None = None, *, like: Like = None) -> torch.Tensor:
    """``x`` must be (B, C, H, W) with ``C == channels`` when given."""
    x = check_tensor(x, name, ndim=4, like=like)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channels (B, {channels}, H, W), got shape {_shape(x)}")
    return x


def check_images(x: object, name: str, size: int, *, like: Like = None) -> torch.Tensor:
    """``x`` must be RGB images ``(B, 3, size, size)``."""
    x = check_image_features(x, name, 3, like=like)
    if tuple(x.shape[-2:]) != (size, size):
        raise ValueError(f"{name}: expected {size}x{size} images, got shape {_shape(x)}")
    return x


def check_words(words: object, name: str, dim: int | None = None, *, like: Like = None) -> torch.Tensor:
    """``words`` must be (B, T, D) with ``D == dim`` when given and T >= 1."""
    words = check_tensor(words, name, ndim=3, like=like)
    if dim is not None and words.shape[2] != dim:
        raise ValueError(f"{name}: expected word features (B, T, {dim}), got shape {_shape(words)}")
    if words.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one word position, got shape {_shape(words)}")
    return words


def check_sentence(sentence: object, name: str, dim: int | None = None, *, like: Like = None) -> torch.Tensor:
    """``sentence`` must be (B, D) with ``D == dim`` when given."""
    sentence = check_tensor(sentence, name, ndim=2, like=like)
    if dim is not None and sentence.shape[1] != dim:
        raise ValueError(f"{name}: expected sentence features (B, {dim}), got shape {_shape(sentence)}")
    return sentence


def check_mask(
    mask: object, name: str, batch: int, length: int, *, require_real_token: bool = True, like: Like = None
) -> torch.Tensor:
    """``mask`` must be a bool (B, T) tensor, True = real token; every row needs one real token.

    The real-token check reads the mask's values, so it is skipped while ``torch.compile`` traces (it would split
    the graph at every call); eager calls always run it.
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name}: expected a bool torch.Tensor (B, T), got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name}: expected dtype torch.bool (True = real token), got {mask.dtype}")
    if mask.ndim != 2 or mask.shape[0] != batch or mask.shape[1] != length:
        raise ValueError(f"{name}: expected shape ({batch}, {length}) to match the words, got {_shape(mask)}")
    if like is not None:
        check_like(mask, name, like)
    if require_real_token and not torch.compiler.is_compiling():
        empty = (~mask.any(dim=1)).nonzero().flatten()
        if empty.numel():
            raise ValueError(
                f"{name}: caption(s) at batch index {empty.tolist()[:8]} have no real token "
                "(an all-False row); every caption needs at least one word"
            )
    return mask


def check_same_batch(**tensors: torch.Tensor | None) -> int:
    """All given tensors share dim 0; returns that batch size."""
    sizes = {name: t.shape[0] for name, t in tensors.items() if t is not None}
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{n}={s}" for n, s in sizes.items())
        first = next(iter(sizes))
        odd = next(n for n, s in sizes.items() if s != sizes[first])
        raise ValueError(f"{odd}: batch size mismatch ({listing}); all inputs must share dim 0")
    return next(iter(sizes.values())) if sizes else 0


def check_positive_int(value: object, name: str) -> int:
    """``value`` must be an int > 0 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def check_captions(captions: object, name: str = "captions") -> list[str]:
    """``captions`` must be a non-empty sequence of strings, each with at least one non-space character.

    Every text encoder runs this on string input, so an empty caption fails the same way whatever the encoder.
    """
    if isinstance(captions, str):
        raise TypeError(f"{name}: expected a sequence of strings, got a single str (wrap it in a list)")
    if isinstance(captions, (bytes, torch.Tensor)) or not isinstance(captions, Sequence):
        raise TypeError(f"{name}: expected a sequence of strings, got {type(captions).__name__}")
    out = list(captions)
    if not out:
        raise ValueError(f"{name}: expected at least one caption, got an empty sequence")
    for i, caption in enumerate(out):
        if not isinstance(caption, str):
            raise TypeError(f"{name}: item {i} is {type(caption).__name__}, expected str")
    empty = [i for i, caption in enumerate(out) if not caption.strip()]
    if empty:
        raise ValueError(
            f"{name}: caption(s) at index {empty[:8]} are empty or blank; every caption needs at least one word"
        )
    return out


def lengths_to_mask(lengths: torch.Tensor | Sequence[int], max_len: int | None = None) -> torch.Tensor:
    """(B,) caption lengths → (B, T) bool mask, True for the first ``length`` positions."""
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths: expected a 1-D tensor (B,), got shape {_shape(lengths)}")
    t = int(lengths.max().item()) if max_len is None else int(max_len)
    return torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]
