"""Read a weights file (``.safetensors`` or a ``torch.save`` file) into a plain state dict, with errors naming it.

Every loader of external weights (DAMSM encoders, Inception for the metrics, official FF-GAN checkpoints, the image
encoder of a config) goes through [`read_state_dict`][fusionblocks.state_dict_io.read_state_dict], so they all
accept the same formats and fail the same way: a missing file raises ``FileNotFoundError``, and a file that is
corrupt, truncated, of another format, or holds something other than tensors raises ``ValueError``; both messages
name the argument and the file. Pickled files are read with ``torch.load(weights_only=True)``: a file that would run
code is refused, never run.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from typing import Mapping, Sequence

import torch
from safetensors.torch import load_file

__all__ = ["read_state_dict"]

DEFAULT_WRAPPERS: tuple[str, ...] = ("state_dict", "model")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def read_state_dict(
    source: str | os.PathLike[str] | Mapping[str, torch.Tensor],
    name: str,
    *,
    wrappers: Sequence[str] = DEFAULT_WRAPPERS,
    strip_prefix: str = "module.",
) -> dict[str, torch.Tensor]:
    """Read a state dict from a file path, or copy one given as a mapping.

    Args:
        source: A ``.safetensors`` file, a ``torch.save`` file (``.pth``/``.pt``/``.bin``/``.ckpt``) or a mapping.
        name: The argument's name, for messages (``"weights"``, ``"image.weights"``, ...).
        wrappers: Keys under which a file may nest the state dict (``{"state_dict": {...}}``); unwrapped in order.
        strip_prefix: Removed from every key when all keys start with it (``nn.DataParallel`` saves).

    Returns:
        A new ``{key: tensor}`` dict (tensors on the CPU for files).

    Raises:
        TypeError: ``source`` is neither a path nor a mapping.
        FileNotFoundError: No file at the path.
        ValueError: The file is unreadable, corrupt, of an unknown format, holds no mapping, or holds non-tensor
            entries; the message names ``name`` and the path.
    """
    if isinstance(source, Mapping):
        state: object = dict(source)
        where = f"{name}: the given state dict"
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        where = f"{name}: {path!r}"
        if os.path.isdir(path):
            raise ValueError(f"{where} is a folder; expected a weights file (.safetensors or .pth)")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{name}: no such file {path!r}")
        state = _read_file(path, where)
    else:
        raise TypeError(f"{name}: expected a file path or a state dict, got {type(source).__name__}")
    for key in wrappers:
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping):
        raise ValueError(f"{where} does not hold a state dict (got {type(state).__name__})")
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{where} holds non-tensor entries {[str(k) for k in bad[:5]]}; expected a state dict")
    out = {str(k): v for k, v in state.items()}
    if strip_prefix and out and all(k.startswith(strip_prefix) for k in out):
        out = {k[len(strip_prefix):]: v for k, v in out.items()}
    return out


def _read_file(path: str, where: str) -> object:
    if path.endswith(".safetensors"):
        try:
            return load_file(path)
        except OSError:
            raise
        except Exception as exc:  # safetensors raises its own error types for corrupt headers and data
            raise ValueError(f"{where} is not a readable .safetensors file ({_first_line(exc)})") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, KeyError,
            AttributeError) as exc:
        after = str(exc).partition("WeightsUnpickler error:")[2]  # torch's long weights_only explanation
        detail = next((ln.strip() for ln in after.splitlines() if ln.strip()), "") or _first_line(exc)
        raise ValueError(
            f"{where} is not a readable PyTorch weights file: corrupt, truncated, or holding objects other than "
            f"tensors, which are never run ({detail})"
        ) from exc
