"""Training checkpoints: safetensors weights + JSON metadata, written atomically, verified on load.

Layout of one run folder:

    RUN/checkpoints/step_00000100/
        generator.safetensors  generator_ema.safetensors  discriminators.safetensors  ...   (one per group)
        optimizers.safetensors  optimizers.json      # optimiser tensors + their JSON structure (no pickle)
        state.json                                   # step, RNG states of every rank, data-sampler position, ...
        meta.json                                    # format, step, config, file sizes and SHA-256 (written last)
    RUN/checkpoints/latest.json                      # {"step": 100, "path": "step_00000100"}

Every file is written to a temporary name and moved into place with ``os.replace``; a checkpoint folder is assembled
under a temporary name and renamed when complete, and ``latest.json`` is updated only after that, so an interrupted
save never damages the previous checkpoint. Older checkpoints are pruned after the new one is in place (or, when the
disk is short of space, the ones that would be pruned anyway go first; the newest complete one always stays).
A state holding NaN or Inf is refused before anything is written. Saves hold the run folder's lock and clean up what
killed saves left behind. On load, every file listed in ``meta.json`` is checked (present, size, SHA-256) and any
failure raises [`CheckpointError`][fusionblocks.train.checkpoint.CheckpointError] naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import safetensors.torch
import torch

from .._faults import fault_point
from .atomic import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file
from .finite_state import describe_nonfinite, nonfinite_groups
from .run_folder import clean_checkpoint_folder, free_bytes, list_checkpoints, prune_checkpoints
from .run_lock import RunFolderLock

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointError",
    "CheckpointSaveError",
    "NonFiniteCheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "resolve_checkpoint",
    "check_finite_checkpoint",
    "list_checkpoints",
    "flatten_optimizer_state",
    "unflatten_optimizer_state",
]

CHECKPOINT_FORMAT = "fusionblocks.checkpoint/1"
_RESERVED = {"optimizers", "state", "meta"}


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, truncated or of an unknown format. The message names the file."""


class CheckpointSaveError(CheckpointError):
    """Writing a checkpoint failed (full disk, permissions, ...). Names the checkpoint and the reason; the earlier
    checkpoints and ``latest.json`` are untouched."""


class NonFiniteCheckpointError(CheckpointError):
    """Weights or optimiser state hold NaN or Inf, so the checkpoint was not saved (or is refused on load).

    Attributes:
        bad: Group name → names of its non-finite tensors.
    """

    def __init__(self, message: str, bad: Mapping[str, list[str]]) -> None:
        super().__init__(message)
        self.bad = {group: list(keys) for group, keys in bad.items()}


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
    return safetensors.torch.save(clean, metadata=metadata)


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load(path.read_bytes())
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


def save_checkpoint(
    run_dir: str | os.PathLike[str],
    step: int,
    *,
    tensors: Mapping[str, Mapping[str, torch.Tensor]],
    optimizers: Mapping[str, Mapping[str, Any]] | None = None,
    state: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    keep: int = 2,
    check_finite: bool = True,
) -> Path:
    """Write a checkpoint for ``step`` atomically and prune older ones, keeping the newest ``keep``.

    Before anything is written, every floating-point tensor (weights, EMA, optimiser state) is checked for NaN/Inf
    (one fused reduction per group): a non-finite state is refused, so it never becomes ``latest`` and never causes
    a good checkpoint to be pruned. The save holds the run folder's lock
    ([`RunFolderLock`][fusionblocks.train.run_lock.RunFolderLock], re-entrant for a trainer that already holds it),
    first removes what interrupted saves left behind, and when the file system has less free space than the new
    checkpoint needs, prunes the checkpoints that would be pruned after the write anyway *before* writing (always
    keeping the newest complete one).

    Args:
        run_dir: The run folder; checkpoints go to ``run_dir/checkpoints``.
        step: Optimisation steps completed (non-negative).
        tensors: Group name → state dict; each group becomes ``<group>.safetensors``.
        optimizers: Optimiser name → ``optimizer.state_dict()``.
        state: JSON-serialisable training state (RNG states, sampler position, ...).
        config: JSON-serialisable model configuration.
        keep: How many checkpoints to keep (≥ 1); older ones are removed after the new one is in place.
        check_finite: Refuse non-finite tensors (turn off only to store a broken state on purpose).

    Returns:
        The new step folder.

    Raises:
        NonFiniteCheckpointError: A tensor holds NaN or Inf (named); nothing was written.
        RunFolderBusyError: Another process holds the run folder.
        CheckpointSaveError: Writing failed (full disk, permissions, ...); names the checkpoint and the reason.
            The previous checkpoints and ``latest.json`` are left as they were.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be an int >= 1, got {keep!r}")
    for group in tensors:
        if group in _RESERVED or not re.match(r"^[A-Za-z0-9_.-]+$", group):
            raise ValueError(f"tensors: invalid group name {group!r}")
    root = Path(run_dir) / "checkpoints"
    name = f"step_{step:08d}"
    opt_tensors: dict[str, torch.Tensor] = {}
    opt_structure: dict[str, Any] = {}
    for opt_name, sd in (optimizers or {}).items():
        flat, structure = flatten_optimizer_state(opt_name, sd)
        opt_tensors.update(flat)
        opt_structure[opt_name] = structure
    if check_finite:
        bad = nonfinite_groups({**tensors, **({"optimizers": opt_tensors} if opt_tensors else {})})
        if bad:
            raise NonFiniteCheckpointError(
                f"{root / name}: refusing to save step {step}: non-finite values (NaN/Inf) in "
                f"{describe_nonfinite(bad)}; nothing was written ({_latest_note(run_dir)})",
                bad,
            )
    try:
        with RunFolderLock(run_dir):
            return _write_checkpoint(Path(run_dir), root, step, name, tensors, opt_tensors, opt_structure,
                                     state, config, keep)
    except CheckpointError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno is not None and exc.errno in errno.errorcode:
            reason += f" [{errno.errorcode[exc.errno]}]"
        if exc.errno == errno.ENOSPC:
            reason += f"; {_space_note(root, tensors, opt_tensors)}"
        target = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise CheckpointSaveError(
            f"{root / name}: could not save the checkpoint of step {step}: {reason}{target}; {_latest_note(run_dir)}"
        ) from exc


def _latest_note(run_dir: str | os.PathLike[str]) -> str:
    try:
        latest = list_checkpoints(run_dir)
    except OSError:
        latest = []
    return f"the latest complete checkpoint is still {latest[-1]}" if latest else "no complete checkpoint exists yet"


def _tensor_bytes(groups: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(
        t.numel() * t.element_size() for sd in groups.values() for t in sd.values() if isinstance(t, torch.Tensor)
    )


def _space_note(root: Path, tensors: Mapping[str, Mapping[str, Any]], opt_tensors: Mapping[str, Any]) -> str:
    needed = _tensor_bytes(tensors) + _tensor_bytes({"o": opt_tensors})
    try:
        free = free_bytes(root if root.exists() else root.parent)
    except OSError:
        return f"the checkpoint needs about {needed / 2**20:.1f} MiB"
    return f"the checkpoint needs about {needed / 2**20:.1f} MiB, {free / 2**20:.1f} MiB are free"


def _write_checkpoint(
    run_dir: Path,
    root: Path,
    step: int,
    name: str,
    tensors: Mapping[str, Mapping[str, torch.Tensor]],
    opt_tensors: dict[str, torch.Tensor],
    opt_structure: dict[str, Any],
    state: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    keep: int,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    clean_checkpoint_folder(root)
    final = root / name
    needed = _tensor_bytes(tensors) + _tensor_bytes({"o": opt_tensors})
    if free_bytes(root) < needed * 1.1 + 2**20:  # short of space: prune now what the save would prune afterwards
        prune_checkpoints(run_dir, max(1, keep - 1), protect=final)
    tmp = root / f".{name}.tmp-{os.getpid()}"
    tmp.mkdir()
    files: dict[str, dict[str, Any]] = {}

    def put(filename: str, data: bytes) -> None:
        atomic_write_bytes(tmp / filename, data)
        files[filename] = {"bytes": len(data), "sha256": sha256_bytes(data)}

    try:
        for group, sd in tensors.items():
            put(f"{group}.safetensors", _safetensors_bytes(sd))
            fault_point("checkpoint.after_group")
        if opt_structure:
            put("optimizers.safetensors", _safetensors_bytes(opt_tensors))
            put("optimizers.json", _json_bytes(opt_structure))
        put("state.json", _json_bytes(dict(state or {})))
        meta = {
            "format": CHECKPOINT_FORMAT,
            "step": step,
            "config": dict(config or {}),
            "groups": sorted(tensors),
            "optimizers": sorted(opt_structure),
            "files": files,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "torch": torch.__version__,
        }
        fault_point("checkpoint.before_meta")
        atomic_write_bytes(tmp / "meta.json", _json_bytes(meta))
        fault_point("checkpoint.before_rename")
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
    fault_point("checkpoint.before_latest")
    atomic_write_json(root / "latest.json", {"step": step, "path": name})
    fault_point("checkpoint.before_prune")
    prune_checkpoints(run_dir, keep, protect=final)
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


def check_finite_checkpoint(checkpoint: Checkpoint, groups: list[str] | None = None) -> None:
    """Refuse a loaded checkpoint whose weights (``groups``, default all loaded) hold NaN or Inf.

    Raises:
        NonFiniteCheckpointError: Naming the checkpoint, the groups and a few tensor names.
    """
    wanted = list(checkpoint.tensors) if groups is None else [g for g in groups if g in checkpoint.tensors]
    bad = nonfinite_groups({g: checkpoint.tensors[g] for g in wanted})
    if bad:
        raise NonFiniteCheckpointError(
            f"{checkpoint.path}: the saved weights hold NaN/Inf in {describe_nonfinite(bad)}; this checkpoint cannot "
            "produce images (it was written by a diverged run); use an earlier checkpoint",
            bad,
        )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt or truncated JSON ({exc})") from exc
