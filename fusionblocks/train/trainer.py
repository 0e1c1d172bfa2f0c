"""The training loop shared by every built model: devices, DDP, EMA, checkpoints, logging, sample grids.

What one iteration does (the D steps, the G step, which losses) belongs to the model's recipe
(``fusionblocks.train.recipes``); the trainer feeds it batches and keeps everything else. Its settings come from
the built GAN's config (``gan.config.train``, through
[`TrainerConfig.from_config`][fusionblocks.train.trainer_config.TrainerConfig.from_config]) with explicit
overrides only:

* device auto-selection; bf16 autocast on CUDA and CPU (never fp16 on CPU); optional channels-last and
  ``torch.compile``;
* DistributedDataParallel under ``torchrun`` (NCCL on GPU, gloo on CPU), sharded data, rank-0 logging and
  checkpointing; frozen discriminators bypass DDP during the G step (``FreezeAwareDDP``);
* EMA of the generator's parameters **and** buffers (the official EMA left them out);
* atomic, verified, resumable checkpoints holding G, EMA, Ds, encoders, optimisers, step, every RNG state of every
  rank and the data position, so a resumed run continues exactly as an uninterrupted one;
* a tqdm progress bar, ``metrics.jsonl`` (TensorBoard and your own loggers when asked for), PNG sample grids
  with captions and word-attention maps;
* non-finite numbers never reach a checkpoint: an optimiser step whose gradients hold NaN/Inf is skipped (with a
  warning, counted in ``metrics.jsonl`` as ``skipped_steps``; more than ``nonfinite_patience`` consecutive skipped
  steps stop the run), a non-finite loss stops the run, and non-finite weights are refused at the next checkpoint.
  Each stop names the last finite checkpoint, which stays the run's latest;
* a run folder has one writer at a time (a lock held by ``fit``), and a resumed run applies changed
  hyper-parameters to the restored optimisers (recorded in ``state.json``) or refuses the ones that cannot change
  mid-run, and refuses a changed model naming the differing keys.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, Sized, cast

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .._faults import fault_point
from .batches import collate_items, to_train_batch
from .checkpoint import (
    Checkpoint,
    CheckpointError,
    check_finite_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from .device import autocast_factory, resolve_precision, select_device
from .distributed import (
    DistInfo,
    all_gather_objects,
    barrier,
    broadcast_module,
    init_distributed,
    unwrap,
    wrap_ddp,
)
from .divergence import NonFiniteGradientError, NonFiniteLossError, NonFiniteWeightsError, TrainingDivergedError
from .ema import ModelEMA
from .finite_state import describe_nonfinite, nonfinite_groups
from .finite_step import guard_optimizers
from .grids import attention_grid, caption_grid
from .loggers import TensorBoardLogger, TrainLogger
from .metrics_log import MetricsLogger
from .recipes import TrainModules
from .resume_changes import ResumeConfigError, apply_optimizer_settings, config_changes, refuse_changes
from .rng import capture_rng_state, restore_rng_state, seed_everything
from .run_lock import RunFolderLock
from .sampler import ResumableSampler
from .sampling import generate
from .state_match import ModelMismatchError, load_matching_state_dict
from .trainer_config import TrainerConfig
from .vocabulary_check import check_dataset_vocabulary

__all__ = [
    "Trainer",
    "TrainResult",
    "NonFiniteLossError",
    "NonFiniteGradientError",
    "NonFiniteWeightsError",
    "TrainingDivergedError",
    "config_to_dict",
    "describe_run",
    "output_sizes",
]


@dataclass
class TrainResult:
    """What [`Trainer.fit`][fusionblocks.train.trainer.Trainer.fit] returns.

    Attributes:
        step: Steps completed.
        out_dir: The run folder.
        checkpoint: The last checkpoint folder.
        metrics: The metrics JSONL file.
        grids: Sample grids written by this call.
        seconds: Wall time of this call.
        images_per_second: Training throughput (all ranks).
    """

    step: int
    out_dir: Path
    checkpoint: Path | None
    metrics: Path
    grids: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    images_per_second: float = 0.0


def config_to_dict(config: Any) -> dict[str, Any]:
    """A model config as a JSON-safe dict (``to_dict()``, dataclass, or mapping)."""
    if config is None:
        return {}
    if hasattr(config, "to_dict"):
        data = config.to_dict()
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        data = dataclasses.asdict(config)
    elif isinstance(config, Mapping):
        data = dict(config)
    else:
        raise TypeError(f"config: cannot serialise a {type(config).__name__}")
    return json.loads(json.dumps(data, default=lambda v: list(v) if isinstance(v, (tuple, set)) else str(v)))


class Trainer:
    """Train a built GAN (``gan.generator``, ``gan.discriminators``, encoders, ``gan.recipe``) on a dataset.

    The loop settings come from ``gan.config`` (its ``train`` and ``data`` sections, see
    [`TrainerConfig.from_config`][fusionblocks.train.trainer_config.TrainerConfig.from_config]); keyword
    overrides change single settings, and an explicit ``config`` replaces them all. The checkpoints' copy of the
    model config records the settings the run actually used.

    Args:
        gan: A ``BuiltGAN`` (see [`fusionblocks.ffgan.build_ffgan`][fusionblocks.ffgan.builder.build_ffgan]) or any
            object with the same attributes (``image_sizes`` included).
        dataset: Items as dicts with ``image``/``images`` in [-1, 1] and ``caption`` (see ``fusionblocks.data``).
        out_dir: The run folder (checkpoints, ``metrics.jsonl``, ``samples/``).
        config: Loop settings replacing those of ``gan.config`` (default: derived from ``gan.config``).
        sample_captions: Captions of the sample grids (default: the first ``num_samples`` dataset captions).
        model_config: The model configuration stored in checkpoints (default: ``gan.config`` serialised).
        loggers: Extra [`TrainLogger`][fusionblocks.train.loggers.TrainLogger]s receiving every metrics record
            (rank 0); ``metrics.jsonl`` is always written.
        **overrides: Single [`TrainerConfig`][fusionblocks.train.trainer_config.TrainerConfig] fields
            (``steps=200``, ``device="cpu"``, ...).

    Shapes:
        Batches of ``batch_size`` images per process; reals are resized to each generator output scale.

    Example:
        >>> gan = build_ffgan("tiny64")
        >>> trainer = Trainer(gan, CaptionedShapes(512), "runs/x", steps=200)   # batch size etc. from gan.config
        >>> result = trainer.fit(resume=True)
    """

    def __init__(
        self,
        gan: Any,
        dataset: Dataset,
        out_dir: str | os.PathLike[str],
        config: TrainerConfig | None = None,
        *,
        sample_captions: Sequence[str] | None = None,
        model_config: Mapping[str, Any] | None = None,
        loggers: Sequence[TrainLogger] = (),
        **overrides: Any,
    ) -> None:
        if config is None:
            self.cfg = TrainerConfig.from_config(getattr(gan, "config", None), **overrides)
        elif not isinstance(config, TrainerConfig):
            raise TypeError(f"config: expected a TrainerConfig or None, got {type(config).__name__}")
        else:
            self.cfg = dataclasses.replace(config, **overrides) if overrides else config
        for i, logger in enumerate(loggers):
            if not isinstance(logger, TrainLogger):
                raise TypeError(f"loggers[{i}]: expected an object with log(step, values) and close(), got {logger!r}")
        self.out_dir = Path(out_dir)
        self.gan = gan
        self.recipe = gan.recipe
        self.dataset = dataset
        check_dataset_vocabulary(gan.text_encoder, dataset)
        self.extra_loggers: list[TrainLogger] = list(loggers)
        self.model_config = (
            dict(model_config) if model_config is not None else config_to_dict(getattr(gan, "config", None))
        )
        self.scale_sizes = output_sizes(gan)
        self._setup_runtime()
        self._setup_modules(gan)
        self._setup_data(dataset)
        self.sample_captions = self._choose_sample_captions(sample_captions)
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.last_checkpoint: Path | None = None
        self.stopped_early = False
        self.skipped_steps = 0  # steps with an optimiser update skipped for non-finite gradients (whole run)
        self._consecutive_skips = 0
        self.resume_history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------------------------ set-up
    def _setup_runtime(self) -> None:
        """Device, process group, precision and seeds."""
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = select_device(self.cfg.device, local_rank)
        self.dist: DistInfo = init_distributed(self.device)
        self.precision = resolve_precision(self.cfg.precision, self.device)
        self.autocast = autocast_factory(self.device, self.precision)
        seed_everything(self.cfg.seed + self.dist.rank)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = not self.cfg.deterministic
        if self.cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)

    def _setup_modules(self, gan: Any) -> None:
        """Move the modules, build the optimisers, wrap for compile / DDP, start the EMA."""
        fmt = torch.channels_last if self.cfg.channels_last else torch.preserve_format
        self.generator: nn.Module = gan.generator.to(self.device).to(memory_format=fmt).train()
        self.discriminators = nn.ModuleList(list(gan.discriminators)).to(self.device).to(memory_format=fmt).train()
        self.text_encoder: nn.Module = gan.text_encoder.to(self.device).eval().requires_grad_(False)
        self.image_encoder: nn.Module | None = getattr(gan, "image_encoder", None)
        if self.image_encoder is not None:
            self.image_encoder = self.image_encoder.to(self.device, memory_format=fmt).eval().requires_grad_(False)
        # Fused Adam (one kernel for all parameters) on CUDA and CPU, where PyTorch implements it.
        self.optimizers = self.recipe.build_optimizers(
            self.generator, list(self.discriminators), fused=True if self.device.type in ("cuda", "cpu") else None
        )
        # what the recipe steps: the same optimisers, skipping any update whose gradients hold NaN/Inf
        self._guarded_optimizers = guard_optimizers(self.optimizers)
        g_run: nn.Module = self.generator
        d_run = list(self.discriminators)
        if self.cfg.compile:
            g_run = cast(nn.Module, torch.compile(g_run))
            d_run = [torch.compile(d) for d in d_run]  # type: ignore[misc]
        if self.dist.enabled:
            g_run = wrap_ddp(g_run, self.device, find_unused_parameters=self.cfg.find_unused_parameters)
            d_run = [wrap_ddp(d, self.device, find_unused_parameters=self.cfg.find_unused_parameters) for d in d_run]
            broadcast_module(self.text_encoder)  # frozen, not DDP-wrapped: make every rank use rank 0's copy
            if self.image_encoder is not None:
                broadcast_module(self.image_encoder)
        # after DDP has broadcast rank 0's weights, so every rank's average starts from the same point
        decay = getattr(self.recipe, "ema_decay", None)
        self.ema = ModelEMA(self.generator, decay) if decay else None
        self.modules = TrainModules(
            generator=g_run, discriminators=d_run, text_encoder=self.text_encoder, image_encoder=self.image_encoder
        )

    def _setup_data(self, dataset: Dataset) -> None:
        """The resumable, sharded sampler and the loader."""
        self.sampler = ResumableSampler(
            dataset, num_replicas=self.dist.world_size, rank=self.dist.rank, seed=self.cfg.seed, drop_last=True
        )
        self.batches_per_epoch = self.sampler.num_samples // self.cfg.batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(
                f"dataset: {len(cast(Sized, dataset))} items give no full batch of batch_size={self.cfg.batch_size} "
                f"per process (world size {self.dist.world_size})"
            )
        if self.cfg.steps is None and self.cfg.epochs is None:
            raise ValueError("steps: the run has no length; set train.steps or train.epochs (or pass steps=...)")
        # the loader draws its workers' base seed from this generator (re-seeded per epoch), not from the global
        # RNG: otherwise re-creating the iterator on resume would shift every later random number
        self._loader_generator = torch.Generator()
        self.loader = DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
            sampler=self.sampler,
            drop_last=True,
            num_workers=self.cfg.num_workers,
            collate_fn=collate_items,
            pin_memory=self.device.type == "cuda",
            generator=self._loader_generator,
        )

    def _choose_sample_captions(self, sample_captions: Sequence[str] | None) -> list[str]:
        if sample_captions is None:
            n = min(self.cfg.num_samples, len(self.dataset))  # type: ignore[arg-type]
            found = [self.dataset[i].get("caption") for i in range(n)]
            sample_captions = [c for c in found if isinstance(c, str) and c]
            if not sample_captions:
                raise ValueError("sample_captions: the dataset items carry no 'caption' strings; pass sample_captions")
        return list(sample_captions)

    # ------------------------------------------------------------------------------------------------ state
    @property
    def total_steps(self) -> int:
        """Steps of the whole run: ``steps``, or ``epochs`` × batches per epoch of this process."""
        if self.cfg.steps is not None:
            return self.cfg.steps
        if self.cfg.epochs is None:
            raise ValueError("steps: the run has no length; set train.steps or train.epochs (or pass steps=...)")
        return self.cfg.epochs * self.batches_per_epoch

    @property
    def sampling_generator(self) -> nn.Module:
        """The EMA generator when the recipe keeps one, else the live generator."""
        return self.ema.module if self.ema is not None else self.generator

    def _batches(self) -> Iterator[dict[str, Any]]:
        while True:
            self.sampler.set_epoch(self.epoch, self.batch_in_epoch * self.cfg.batch_size)
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(self.epoch)
            self._loader_generator.manual_seed(self.cfg.seed * 1_000_003 + self.epoch)
            for batch in self.loader:
                self.batch_in_epoch += 1
                yield batch
            self.epoch += 1
            self.batch_in_epoch = 0

    def state_tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        """Weights to checkpoint, by group (``generator``, ``generator_ema``, ``discriminators``, encoders)."""
        groups = {
            "generator": unwrap(self.generator).state_dict(),
            "discriminators": self.discriminators.state_dict(),
            "text_encoder": self.text_encoder.state_dict(),
        }
        if self.ema is not None:
            groups["generator_ema"] = self.ema.module.state_dict()
        if self.image_encoder is not None:
            groups["image_encoder"] = self.image_encoder.state_dict()
        return groups

    def run_config(self) -> dict[str, Any]:
        """The model config as stored in checkpoints, its ``train``/``data`` settings set to what this run uses."""
        return describe_run(self.model_config, self.cfg)

    # ------------------------------------------------------------------------------------------------ checkpoints
    def save(self) -> Path | None:
        """Write a checkpoint for the current step (rank 0 writes; every rank contributes its RNG state).

        Raises:
            NonFiniteWeightsError: the weights, EMA or optimiser state hold NaN/Inf (checked on every rank, one
                fused reduction per group); nothing is written and the last finite checkpoint stays the latest.
        """
        tensors = self.state_tensors()
        optimizers = {name: opt.state_dict() for name, opt in self.optimizers.items()}
        optimizer_groups = {f"optimizer {n}": _optimizer_tensors(sd) for n, sd in optimizers.items()}
        bad = nonfinite_groups({**tensors, **optimizer_groups})
        if bad:  # every rank holds the same state, so every rank stops here alike
            raise NonFiniteWeightsError(self.step, f"NaN/Inf in {describe_nonfinite(bad)}; the checkpoint of this step "
                                        "was not written", bad, self.last_checkpoint)
        rng = all_gather_objects(capture_rng_state())
        path = None
        if self.dist.is_main:
            vocab = getattr(self.text_encoder, "vocabulary", None)
            state = {
                "step": self.step,
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "world_size": self.dist.world_size,
                "rng": rng,
                "sampler": self.sampler.state_dict(),
                "trainer": dataclasses.asdict(self.cfg),
                "recipe": getattr(self.recipe, "name", type(self.recipe).__name__),
                "sample_captions": self.sample_captions,
                "vocabulary": list(words) if (words := getattr(vocab, "itos", None)) is not None else None,
                "provenance": getattr(self.gan, "provenance", None) or {},
                "skipped_steps": self.skipped_steps,
                "resume_history": self.resume_history,
            }
            path = save_checkpoint(
                self.out_dir,
                self.step,
                tensors=tensors,
                optimizers=optimizers,
                state=state,
                config=self.run_config(),
                keep=self.cfg.keep_checkpoints,
                check_finite=False,  # checked above, on every rank
            )
        barrier()
        self.last_checkpoint = path if path is not None else self.last_checkpoint
        return path

    def load(self, path: str | os.PathLike[str] | Checkpoint) -> Checkpoint:
        """Restore weights, EMA, optimisers, step, data position and (same world size) every RNG state.

        The model, recipe and loop were built from the *current* config. Settings that differ from the
        checkpoint's are applied (optimiser hyper-parameters are set on the restored optimisers), recorded in the
        next checkpoint's ``state.json`` under ``resume_history`` and reported in one warning; settings that cannot
        change mid-run are refused (see [`resume_changes`][fusionblocks.train.resume_changes]).

        Raises:
            CheckpointError: The checkpoint is missing, truncated or corrupt (the message names the file).
            NonFiniteCheckpointError: Its weights hold NaN/Inf (written by an older version without the guard).
            ModelMismatchError: The current config builds a model of another shape (names the differing keys).
            ResumeConfigError: The current config changes the seed, the recipe or the encoders (names them).
        """
        ck = path if isinstance(path, Checkpoint) else load_checkpoint(path, map_location=self.device)
        check_finite_checkpoint(ck)
        changes = config_changes(ck.config, self.run_config()) if ck.config else {}
        refuse_changes(changes, ck.path)
        modules = {"generator": unwrap(self.generator), "discriminators": self.discriminators,
                   "text_encoder": self.text_encoder}
        if self.image_encoder is not None and "image_encoder" in ck.tensors:
            modules["image_encoder"] = self.image_encoder
        for group, module in modules.items():
            load_matching_state_dict(module, ck.tensors[group], group=group, source=ck.path)
        if self.ema is not None:
            group = "generator_ema" if "generator_ema" in ck.tensors else "generator"
            load_matching_state_dict(self.ema.module, ck.tensors[group], group=group, source=ck.path)
        for name, opt in self.optimizers.items():
            if name in ck.optimizers:
                fresh = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
                try:
                    opt.load_state_dict(ck.optimizers[name])
                except (ValueError, KeyError) as exc:  # another number of parameters or groups
                    raise ModelMismatchError(f"{ck.path}: the saved optimizer {name!r} does not fit the model "
                                             f"built from the current config ({exc})", name, [str(exc)]) from exc
                changes.update(apply_optimizer_settings(opt, fresh, name))
        state = ck.state
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self.resume_history = list(state.get("resume_history") or [])
        if changes:
            self.resume_history.append({"step": ck.step, "changed": {k: list(v) for k, v in changes.items()}})
            listing = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items())
            warnings.warn(f"resuming {ck.path} with changed settings, applied: {listing}", stacklevel=2)
        self.step = int(state.get("step", ck.step))
        saved_world = int(state.get("world_size", 1))
        saved_batch = int(state.get("trainer", {}).get("batch_size", self.cfg.batch_size))
        rngs = state.get("rng") or []
        same_layout = saved_world == self.dist.world_size and saved_batch == self.cfg.batch_size
        if same_layout and len(rngs) == self.dist.world_size:
            restore_rng_state(rngs[self.dist.rank])
            self.epoch = int(state.get("epoch", 0))
            self.batch_in_epoch = int(state.get("batch_in_epoch", 0))
        else:  # another world or batch size: the data order cannot continue exactly; start a fresh epoch order
            warnings.warn(
                f"resuming with world size {self.dist.world_size} / batch size {self.cfg.batch_size} instead of "
                f"{saved_world} / {saved_batch}: the data order restarts with a new epoch (not bit-exact)",
                stacklevel=2,
            )
            seed_everything(self.cfg.seed + self.dist.rank + self.step)
            self.epoch = int(state.get("epoch", 0)) + 1
            self.batch_in_epoch = 0
        self.last_checkpoint = ck.path
        return ck

    def resume(self, resume: bool | str | os.PathLike[str]) -> None:
        """Apply ``fit``'s ``resume`` argument (see [`fit`][fusionblocks.train.trainer.Trainer.fit]).

        Raises:
            FileExistsError: a fresh trainer with ``resume=False`` finds checkpoints in ``out_dir``.
            CheckpointError: the checkpoint to resume from is corrupt or truncated.
        """
        existing = list_checkpoints(self.out_dir)
        if not resume:
            if self.step == 0 and existing:
                raise FileExistsError(
                    f"out_dir: {self.out_dir} already holds checkpoints (newest {existing[-1].name}); "
                    "resume it (resume=True / --resume) or choose another folder"
                )
            return
        if resume is not True:
            self.load(resume)
            return
        if existing or (self.out_dir / "checkpoints" / "latest.json").exists():
            try:
                self.load(self.out_dir)
            except CheckpointError as err:
                if not _damaged(err):  # a config that does not fit fails on every checkpoint alike
                    raise
                older = [str(p) for p in existing][:-1]
                hint = f"; an older checkpoint is still there: {older[-1]} (resume from it explicitly)" if older else ""
                raise CheckpointError(f"{err}{hint}") from err

    # ------------------------------------------------------------------------------------------------ one step
    def train_step(self, batch: Mapping[str, Any]) -> tuple[list[str], torch.Tensor]:
        """One optimisation step on a collated batch: the recipe's iteration, the finite check, the EMA update.

        An optimiser update whose gradients hold NaN or Inf is skipped (weights and moments unchanged): the step
        still counts, a warning names it, and ``skipped_steps`` grows. More than ``nonfinite_patience``
        consecutive steps with a skipped update stop the run.

        Returns:
            The loss-term names and their values (a CPU tensor, one value per name).

        Raises:
            NonFiniteLossError: a loss term is NaN or infinite (on any rank).
            NonFiniteGradientError: too many consecutive steps had non-finite gradients.
        """
        train_batch = to_train_batch(batch, self.scale_sizes, self.device, channels_last=self.cfg.channels_last)
        losses = self.recipe.iteration(self.modules, train_batch, self._guarded_optimizers, autocast=self.autocast)
        self.step += 1
        skips = {name: guard.take_skipped() for name, guard in self._guarded_optimizers.items()}
        values, skipped = self._check_finite(losses, skips)
        if skipped:
            self.skipped_steps += 1
            self._consecutive_skips += 1
            if self._consecutive_skips > self.cfg.nonfinite_patience:
                raise NonFiniteGradientError(self.step, self._consecutive_skips, skipped, self.last_checkpoint)
            warnings.warn(
                f"step {self.step}: non-finite gradients for optimiser(s) {', '.join(skipped)}; their update was "
                f"skipped ({self.skipped_steps} step(s) with skipped updates so far, "
                f"{self._consecutive_skips} in a row; the run stops after {self.cfg.nonfinite_patience})",
                stacklevel=2,
            )
        else:
            self._consecutive_skips = 0
        if self.ema is not None:
            self.ema.update(unwrap(self.generator))
        return list(losses), values

    def _check_finite(
        self, losses: Mapping[str, torch.Tensor], skips: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, list[str]]:
        """The loss values on the CPU and the optimisers that skipped their update, in one transfer."""
        names = list(losses)
        device = losses[names[0]].device if names else self.device
        flags = [skips[k].to(device).reshape(()) for k in skips]
        values = torch.stack([losses[k].detach().float().reshape(()) for k in names] + flags)
        bad = (~torch.isfinite(values[: len(names)])).any().float()
        if self.dist.enabled:
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
        values_cpu = values.cpu()
        losses_cpu = values_cpu[: len(names)]
        skipped = [name for name, flag in zip(skips, values_cpu[len(names):]) if flag > 0]
        if bad.item() > 0:
            finite = torch.isfinite(losses_cpu)
            k = int((~finite).nonzero()[0]) if (~finite).any() else 0
            raise NonFiniteLossError(self.step, names[k], float(losses_cpu[k]), self.last_checkpoint)
        return losses_cpu, skipped

    # ------------------------------------------------------------------------------------------------ outputs
    def write_samples(self, tag: str | None = None) -> list[Path]:
        """Write the sample grid (captions under images) and the word-attention grid for the current step."""
        tag = tag or f"step_{self.step:08d}"
        out = generate(
            self.sampling_generator, self.text_encoder, self.sample_captions, seed=self.cfg.sample_seed,
            autocast=self.autocast,
        )
        folder = self.out_dir / "samples"
        paths = [folder / f"{tag}.png"]
        caption_grid(out.images[-1], self.sample_captions, columns=min(8, len(self.sample_captions)), path=paths[0])
        if out.attention:
            paths.append(folder / f"{tag}_attention.png")
            attention_grid(out.images[-1], out.attention[-1], self.sample_captions, path=paths[1])
        return paths

    def _open_loggers(self) -> list[TrainLogger]:
        """Rank 0: ``metrics.jsonl`` (records past the resume step dropped), TensorBoard when asked, user loggers."""
        if not self.dist.is_main:
            return []
        loggers: list[TrainLogger] = [MetricsLogger(self.out_dir / "metrics.jsonl", truncate_after_step=self.step)]
        if self.cfg.tensorboard:
            loggers.append(TensorBoardLogger(self.out_dir / "tensorboard"))
        return loggers + self.extra_loggers

    def _sample_and_checkpoint(self, done: bool) -> list[Path]:
        """Sample grids and checkpoints due at this step (always both at the end)."""
        grids: list[Path] = []
        if self.dist.is_main and (done or _due(self.step, self.cfg.sample_every)):
            grids = self.write_samples()
        if done or _due(self.step, self.cfg.checkpoint_every):
            self.save()
        return grids

    # ------------------------------------------------------------------------------------------------ the loop
    def fit(self, resume: bool | str | os.PathLike[str] = False) -> TrainResult:
        """Train until the run's total steps are done (``steps``, or ``epochs`` × batches per epoch).

        Args:
            resume: ``True``: continue from the newest checkpoint in ``out_dir`` if there is one;
                a path: continue from that checkpoint; ``False``: continue from this trainer's own state (step 0
                when fresh). Calling ``fit`` again after raising ``config.steps`` therefore trains on.

        Returns:
            [`TrainResult`][fusionblocks.train.trainer.TrainResult].

        Raises:
            FileExistsError: a fresh trainer (step 0) with ``resume=False`` finds checkpoints in ``out_dir`` (an
                earlier run is never overwritten).
            TrainingDivergedError: a loss, the gradients (past ``nonfinite_patience``) or the weights became
                NaN/Inf; the message names the last finite checkpoint, which stays the run's latest.
            CheckpointError: ``resume`` names a corrupt or truncated checkpoint, or one the current config cannot
                continue (another model shape, seed, recipe or encoders; the message names them).
            RunFolderBusyError: another process is writing to ``out_dir``.
        """
        lock = RunFolderLock(self.out_dir) if self.dist.is_main else None
        if lock is not None:
            lock.acquire()
        try:
            return self._fit(resume)
        finally:
            if lock is not None:
                lock.release()

    def _fit(self, resume: bool | str | os.PathLike[str]) -> TrainResult:
        self.resume(resume)
        total = self.total_steps
        loggers = self._open_loggers()
        progress = _Progress(self, total) if self.dist.is_main and self.cfg.progress else None
        window = _LossWindow(self.cfg.batch_size * self.dist.world_size)
        grids: list[Path] = []
        start_step = self.step
        t_start = time.perf_counter()
        batches = self._batches()
        try:
            while self.step < total:
                try:
                    names, values = self.train_step(next(batches))
                    fault_point("trainer.after_step")
                    window.add(names, values)
                    done = self.step == total
                    if self.cfg.max_seconds is not None and time.perf_counter() - t_start > self.cfg.max_seconds:
                        done = True
                        self.stopped_early = self.step < total
                    if progress is not None:
                        progress.update(names, values, self.step - start_step, time.perf_counter() - t_start)
                    if done or _due(self.step, self.cfg.log_every):
                        record = {**window.flush(), "epoch": self.epoch, "skipped_steps": self.skipped_steps}
                        for logger in loggers:
                            logger.log(self.step, record)
                    grids += self._sample_and_checkpoint(done)
                except TrainingDivergedError as err:
                    for logger in loggers:
                        logger.log(self.step, {"error": str(err)})
                    raise
                if done:
                    break
        finally:
            if progress is not None:
                progress.close()
            for logger in loggers:
                logger.close()
        seconds = time.perf_counter() - t_start
        steps_done = self.step - start_step
        images = self.cfg.batch_size * self.dist.world_size * steps_done
        return TrainResult(
            step=self.step,
            out_dir=self.out_dir,
            checkpoint=self.last_checkpoint,
            metrics=self.out_dir / "metrics.jsonl",
            grids=grids,
            seconds=seconds,
            images_per_second=images / seconds if seconds > 0 and steps_done else 0.0,
        )


def _due(step: int, every: int) -> bool:
    return bool(every) and step % every == 0


def _optimizer_tensors(state_dict: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The tensors of an optimiser state dict, keyed ``param/entry``."""
    return {
        f"{pid}/{key}": value
        for pid, entries in state_dict.get("state", {}).items()
        for key, value in entries.items()
        if isinstance(value, torch.Tensor)
    }


def _damaged(err: CheckpointError) -> bool:
    """A checkpoint that is damaged (an older one may do), not one the current config cannot continue."""
    return not isinstance(err, (ModelMismatchError, ResumeConfigError))


class _LossWindow:
    """Loss values since the last record, averaged into one record with the images/s of the window."""

    def __init__(self, images_per_step: int) -> None:
        self.images_per_step = images_per_step
        self.names: list[str] = []
        self.values: list[torch.Tensor] = []
        self.started = time.perf_counter()

    def add(self, names: list[str], values: torch.Tensor) -> None:
        self.names = names
        self.values.append(values)

    def flush(self) -> dict[str, float]:
        now = time.perf_counter()
        mean = torch.stack(self.values).mean(0)
        record = {k: float(v) for k, v in zip(self.names, mean)}
        record["images_per_s"] = self.images_per_step * len(self.values) / max(now - self.started, 1e-9)
        self.values, self.started = [], now
        return record


class _Progress:
    """The tqdm bar of rank 0: the latest loss terms and the images/s since ``fit`` started."""

    def __init__(self, trainer: Trainer, total: int) -> None:
        self.images_per_step = trainer.cfg.batch_size * trainer.dist.world_size
        self.bar = tqdm(total=total, initial=trainer.step, desc="train", unit="step", dynamic_ncols=True)

    def update(self, names: list[str], values: torch.Tensor, steps: int, seconds: float) -> None:
        self.bar.update(1)
        post = {k: f"{float(v):.3g}" for k, v in zip(names, values)}
        post["img/s"] = f"{self.images_per_step * steps / max(seconds, 1e-9):.1f}"
        self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        self.bar.close()


def output_sizes(gan: Any) -> list[int]:
    """The generator's output resolutions, smallest first (``gan.image_sizes``, else ``gan.generator.image_sizes``).

    Raises:
        TypeError: neither is there.
    """
    sizes = getattr(gan, "image_sizes", None)
    if sizes is None:
        sizes = getattr(gan.generator, "image_sizes", None)
    if sizes is None:
        raise TypeError(
            "gan: expected an 'image_sizes' attribute (the generator's output resolutions, smallest first) on the "
            "GAN or its generator"
        )
    return [int(s) for s in sizes]


def describe_run(model_config: Mapping[str, Any], cfg: TrainerConfig) -> dict[str, Any]:
    """A copy of a serialised model config whose ``train``/``data`` settings are the ones the run uses.

    Only configs with a ``train`` section (``FFGANConfig.to_dict()``) are changed; other model descriptions are
    returned as they are.
    """
    out = copy.deepcopy(dict(model_config))
    train = out.get("train")
    if isinstance(train, dict):
        train.pop("amp", None)  # the older name of ``precision``
        train.update(cfg.schedule())
        data = out.get("data")
        if isinstance(data, dict):
            data["num_workers"] = cfg.num_workers
    return out
