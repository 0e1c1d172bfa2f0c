"""Training checkpoints: safetensors weights + JSON metadata, written atomically, verified on load.

Layout of one run folder::

    RUN/checkpoints/step_00000100/
        generator.safetensors  generator_ema.safetensors  discriminators.safetensors  ...   (one per group)
        optimizers.safetensors  optimizers.json      # optimiser tensors + their JSON structure (no pickle)
        state.json                                   # step, RNG states of every rank, data-sampler position, ...
        meta.json                                    # format, step, config, file sizes and SHA-256 (written last)
    RUN/checkpoints/latest.json                      # {"step": 100, "path": "step_00000100"}

Every file is written to a temporary name and moved into place with ``os.replace``; a checkpoint folder is assembled
under a temporary name and renamed when complete, and ``latest.json`` is updated only after that, so an interrupted
save never damages the previous checkpoint. Older checkpoints are pruned only after the new one is in place.
On load, every file listed in ``meta.json`` is checked (present, size, SHA-256) and any failure raises
[`CheckpointError`][fusionblocks.train.checkpoint.CheckpointError] naming the file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from .atomic import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "resolve_checkpoint",
    "list_checkpoints",
    "flatten_optimizer_state",
    "unflatten_optimizer_state",
]

CHECKPOINT_FORMAT = "fusionblocks.checkpoint/1"
_STEP_DIR = re.compile(r"^step_(\d{8,})$")
_RESERVED = {"optimizers", "state", "meta"}


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, truncated or of an unknown format. The message names the file."""


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        path: The step folder.
        step: Optimisation steps completed when it was saved.
        config: The model configuration (a plain dict) saved with it.
        tensors: Group name (``"generator"``, ``"generator_ema"``, ...) → state dict.
        optimizers: Optimiser name → ``torch.optim`` state dict.
        state: The JSON training state (RNG states, sampler position, trainer settings, ...).
        meta: The raw ``meta.json`` contents.
    """

    path: Path
    step: int
    config: dict[str, Any]
    tensors: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------------
# tensors


def _safetensors_bytes(tensors: Mapping[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    from safetensors.torch import save

    seen: set[int] = set()
    clean: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            continue
        t = value.detach().to("cpu").contiguous()
        ptr = t.untyped_storage().data_ptr() if t.numel() else -1
        if ptr in seen or t.data_ptr() != ptr:
            t = t.clone()  # shared or offset storage: safetensors wants one owner per buffer
        if t.numel():
            seen.add(t.untyped_storage().data_ptr())
        clean[key] = t
    return save(clean, metadata=metadata)


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    try:
        return load(path.read_bytes())
    except Exception as exc:  # safetensors raises its own error type for corrupt headers
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc


def flatten_optimizer_state(name: str, state_dict: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser state dict into flat tensors and a JSON structure (no pickle needed).

    Args:
        name: Prefix for the tensor keys.
        state_dict: ``optimizer.state_dict()``.

    Returns:
        ``(tensors, structure)``: tensors keyed ``"{name}/{param_id}/{key}"``; the structure holds the param groups
        and, per parameter state entry, either ``{"tensor": key}`` or ``{"value": plain_value}``.
    """
    tensors: dict[str, torch.Tensor] = {}
    state: dict[str, dict[str, Any]] = {}
    for pid, entries in state_dict.get("state", {}).items():
        state[str(pid)] = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tkey = f"{name}/{pid}/{key}"
                tensors[tkey] = value
                state[str(pid)][key] = {"tensor": tkey}
            else:
                state[str(pid)][key] = {"value": value}
    groups = json.loads(json.dumps(state_dict.get("param_groups", []), default=_json_default))
    return tensors, {"state": state, "param_groups": groups}


def unflatten_optimizer_state(structure: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Inverse of [`flatten_optimizer_state`][fusionblocks.train.checkpoint.flatten_optimizer_state].

    Raises:
        KeyError: A tensor named by ``structure`` is missing from ``tensors``.
    """
    state: dict[int, dict[str, Any]] = {}
    for pid, entries in structure["state"].items():
        state[int(pid)] = {
            key: (tensors[item["tensor"]] if "tensor" in item else item["value"]) for key, item in entries.items()
        }
    return {"state": state, "param_groups": [dict(g) for g in structure["param_groups"]]}


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in checkpoint JSON")


# --------------------------------------------------------------------------------------------------------------
# save


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Step folders under ``run_dir/checkpoints`` (complete ones only), oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _STEP_DIR.match(p.name) and (p / "meta.json").is_file()]
    return sorted(found, key=lambda p: int(_STEP_DIR.match(p.name).group(1)))  # type: ignore[union-attr]


def save_checkpoint(
    run_dir: str | os.PathLike[str],
    step: int,
    *,
    tensors: Mapping[str, Mapping[str, torch.Tensor]],
    optimizers: Mapping[str, Mapping[str, Any]] | None = None,
    state: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    keep: int = 2,
) -> Path:
    """Write a checkpoint for ``step`` atomically and prune older ones, keeping the newest ``keep``.

    Args:
        run_dir: The run folder; checkpoints go to ``run_dir/checkpoints``.
        step: Optimisation steps completed (non-negative).
        tensors: Group name → state dict; each group becomes ``<group>.safetensors``.
        optimizers: Optimiser name → ``optimizer.state_dict()``.
        state: JSON-serialisable training state (RNG states, sampler position, ...).
        config: JSON-serialisable model configuration.
        keep: How many checkpoints to keep (≥ 1); older ones are removed after the new one is in place.

    Returns:
        The new step folder.
    """
    if not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    if not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be an int >= 1, got {keep!r}")
    for group in tensors:
        if group in _RESERVED or not re.match(r"^[A-Za-z0-9_.-]+$", group):
            raise ValueError(f"tensors: invalid group name {group!r}")
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".step_*"):  # half-written folders of a killed save: never loadable, safe to drop
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    name = f"step_{step:08d}"
    final = root / name
    tmp = root / f".{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    files: dict[str, dict[str, Any]] = {}

    def put(filename: str, data: bytes) -> None:
        atomic_write_bytes(tmp / filename, data)
        files[filename] = {"bytes": len(data), "sha256": sha256_bytes(data)}

    try:
        for group, sd in tensors.items():
            put(f"{group}.safetensors", _safetensors_bytes(sd))
        opt_tensors: dict[str, torch.Tensor] = {}
        opt_structure: dict[str, Any] = {}
        for opt_name, sd in (optimizers or {}).items():
            flat, structure = flatten_optimizer_state(opt_name, sd)
            opt_tensors.update(flat)
            opt_structure[opt_name] = structure
        if optimizers:
            put("optimizers.safetensors", _safetensors_bytes(opt_tensors))
            put("optimizers.json", _json_bytes(opt_structure))
        put("state.json", _json_bytes(dict(state or {})))
        meta = {
            "format": CHECKPOINT_FORMAT,
            "step": step,
            "config": dict(config or {}),
            "groups": sorted(tensors),
            "optimizers": sorted(optimizers or {}),
            "files": files,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "torch": torch.__version__,
        }
        atomic_write_bytes(tmp / "meta.json", _json_bytes(meta))
        if final.exists():  # re-saving the same step: move the old copy aside first
            old = root / f".{name}.old-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_json(root / "latest.json", {"step": step, "path": name})
    for old in list_checkpoints(run_dir)[:-keep]:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, default=_json_default) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------------------------
# load


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """Find the step folder that ``path`` designates.

    ``path`` may be a step folder (holding ``meta.json``), a run folder or its ``checkpoints`` folder (the
    checkpoint named by ``latest.json``, or else the newest complete one).

    Raises:
        CheckpointError: Nothing loadable there; the message names what is missing.
    """
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file or folder")
    if p.is_file():
        if p.name == "meta.json":
            return p.parent
        if p.name == "latest.json":
            p = p.parent
        else:
            raise CheckpointError(f"{p}: expected a checkpoint folder (holding meta.json), got a file")
    if (p / "meta.json").exists():
        return p
    for root in (p / "checkpoints", p):
        latest = root / "latest.json"
        if latest.is_file():
            try:
                pointer = json.loads(latest.read_text("utf-8"))
                target = root / pointer["path"]
            except Exception as exc:
                raise CheckpointError(f"{latest}: unreadable pointer file ({exc})") from exc
            if not (target / "meta.json").exists():
                raise CheckpointError(f"{target / 'meta.json'}: missing (named by {latest})")
            return target
    found = list_checkpoints(p.parent) if p.name == "checkpoints" else list_checkpoints(p)
    if found:
        return found[-1]
    raise CheckpointError(f"{p}: no checkpoint here (no meta.json, no checkpoints/latest.json)")


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    groups: list[str] | None = None,
    load_optimizers: bool = True,
    verify: bool = True,
    map_location: str | torch.device = "cpu",
) -> Checkpoint:
    """Load and verify a checkpoint.

    Args:
        path: A step folder, a run folder or a ``checkpoints`` folder (see
            [`resolve_checkpoint`][fusionblocks.train.checkpoint.resolve_checkpoint]).
        groups: Tensor groups to load (default: all).
        load_optimizers: Also load the optimiser states.
        verify: Check each file's size and SHA-256 against ``meta.json`` first.
        map_location: Device for the loaded tensors.

    Raises:
        CheckpointError: A file is missing, truncated, corrupt or of the wrong format; the message names it.
    """
    folder = resolve_checkpoint(path)
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except Exception as exc:
        raise CheckpointError(f"{meta_path}: corrupt or truncated metadata ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{meta_path}: not a {CHECKPOINT_FORMAT} checkpoint")
    files = meta.get("files", {})
    wanted = list(meta.get("groups", [])) if groups is None else list(groups)
    for group in wanted:
        if group not in meta.get("groups", []):
            raise CheckpointError(f"{folder / (group + '.safetensors')}: group {group!r} not in this checkpoint")
    needed = [f"{g}.safetensors" for g in wanted] + ["state.json"]
    if load_optimizers and meta.get("optimizers"):
        needed += ["optimizers.safetensors", "optimizers.json"]
    for filename in needed:
        fpath = folder / filename
        info = files.get(filename)
        if info is None:
            raise CheckpointError(f"{fpath}: not listed in {meta_path}")
        if not fpath.is_file():
            raise CheckpointError(f"{fpath}: missing")
        if verify:
            size = fpath.stat().st_size
            if size != info["bytes"]:
                raise CheckpointError(f"{fpath}: truncated or corrupt ({size} bytes, expected {info['bytes']})")
            if sha256_file(fpath) != info["sha256"]:
                raise CheckpointError(f"{fpath}: corrupt (SHA-256 differs from {meta_path})")
    tensors = {}
    for group in wanted:
        sd = _load_safetensors(folder / f"{group}.safetensors")
        tensors[group] = {k: v.to(map_location) for k, v in sd.items()}
    optimizers: dict[str, dict[str, Any]] = {}
    if load_optimizers and meta.get("optimizers"):
        flat = _load_safetensors(folder / "optimizers.safetensors")
        structure = _read_json(folder / "optimizers.json")
        for name, struct in structure.items():
            try:
                sd = unflatten_optimizer_state(struct, flat)
            except KeyError as exc:
                raise CheckpointError(f"{folder / 'optimizers.safetensors'}: missing tensor {exc}") from exc
            optimizers[name] = sd
    state = _read_json(folder / "state.json")
    return Checkpoint(
        path=folder,
        step=int(meta["step"]),
        config=dict(meta.get("config", {})),
        tensors=tensors,
        optimizers=optimizers,
        state=state,
        meta=meta,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt or truncated JSON ({exc})") from exc
