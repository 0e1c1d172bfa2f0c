"""The training loop shared by every built model: devices, DDP, EMA, checkpoints, logging, sample grids.

What one iteration does (the D steps, the G step, which losses) belongs to the model's recipe
(``fusionblocks.train.recipes``); the trainer feeds it batches and keeps everything else:

* device auto-selection; bf16 autocast on CUDA and CPU (never fp16 on CPU); optional channels-last and
  ``torch.compile``;
* DistributedDataParallel under ``torchrun`` (NCCL on GPU, gloo on CPU), sharded data, rank-0 logging and
  checkpointing; frozen discriminators bypass DDP during the G step (``FreezeAwareDDP``);
* EMA of the generator's parameters **and** buffers (the official EMA left them out);
* atomic, verified, resumable checkpoints holding G, EMA, Ds, encoders, optimisers, step, every RNG state of every
  rank and the data position, so a resumed run continues exactly as an uninterrupted one;
* a tqdm progress bar, ``metrics.jsonl`` (and TensorBoard when installed), PNG sample grids with captions and
  word-attention maps;
* a non-finite loss stops the run with the step and the loss term named; the last good checkpoint is kept.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .batches import collate_items, to_train_batch
from .checkpoint import Checkpoint, CheckpointError, list_checkpoints, load_checkpoint, save_checkpoint
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
from .ema import ModelEMA
from .grids import attention_grid, caption_grid
from .metrics_log import MetricsLogger
from .rng import capture_rng_state, restore_rng_state, seed_everything
from .sampler import ResumableSampler
from .sampling import generate
from .vocabulary_check import check_dataset_vocabulary

__all__ = ["TrainerConfig", "Trainer", "TrainResult", "NonFiniteLossError", "config_to_dict"]


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite. Names the step and the term; the last good checkpoint is kept.

    Attributes:
        step: The step whose losses were non-finite.
        term: The first non-finite loss term's name.
        value: Its value.
        checkpoint: The last good checkpoint folder (or None when none was written yet).
    """

    def __init__(self, step: int, term: str, value: float, checkpoint: Path | None) -> None:
        where = f"last good checkpoint kept at {checkpoint}" if checkpoint else "no checkpoint had been written yet"
        super().__init__(f"non-finite loss at step {step}: loss term {term!r} = {value}; training stopped ({where})")
        self.step, self.term, self.value, self.checkpoint = step, term, value, checkpoint


@dataclass
class TrainerConfig:
    """Settings of the training loop (the model's own hyper-parameters live in the model config and recipe).

    Attributes:
        steps: Total optimisation steps (a resumed run stops at the same total).
        batch_size: Per-process batch size.
        seed: Seed of the run (rank ``r`` seeds its RNGs with ``seed + r``; the data order uses ``seed``).
        device: ``"auto"`` (CUDA, else MPS, else CPU) or a device string.
        precision: ``"auto"`` (bf16 on CUDA/CPU), ``"bf16"`` or ``"fp32"``. fp16 is refused.
        channels_last: Use channels-last memory format for images and convolutional models (meant for GPUs: on
            CPU, PyTorch's NHWC BatchNorm backward makes an FF-GAN iteration about 20 % slower; see
            docs/performance.md).
        compile: ``torch.compile`` the generator and discriminators.
        num_workers: DataLoader workers.
        log_every: Steps between ``metrics.jsonl`` records (losses averaged over the window).
        sample_every: Steps between sample grids (0: only at the end).
        checkpoint_every: Steps between checkpoints (0: only at the end).
        keep_checkpoints: Checkpoints kept on disk (older ones are removed after a new one is complete).
        num_samples: Captions in each sample grid (when ``sample_captions`` is not given to the trainer).
        sample_seed: Seed of the fixed noise used for the grids.
        progress: Show a tqdm progress bar (rank 0).
        tensorboard: ``None``: log to TensorBoard when installed; ``True``: require; ``False``: never.
        find_unused_parameters: Passed to DDP (for models with parameters that some steps leave unused).
        deterministic: ``torch.use_deterministic_algorithms(True)`` and cuDNN benchmarking off (bit-reproducible
            GPU runs, slower); otherwise cuDNN benchmarking is on. The official code set both at once.
        max_seconds: Wall-time budget of one [`Trainer.fit`][fusionblocks.train.trainer.Trainer.fit] call: when a step
            ends past it, training stops
            there as if ``steps`` had been reached (final samples and checkpoint written). ``None``: no budget.
    """

    steps: int = 1000
    batch_size: int = 8
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool = False
    compile: bool = False
    num_workers: int = 0
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    num_samples: int = 8
    sample_seed: int = 1234
    progress: bool = True
    tensorboard: bool | None = None
    find_unused_parameters: bool = False
    deterministic: bool = False
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "keep_checkpoints", "num_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("seed", "num_workers", "sample_every", "checkpoint_every", "sample_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")


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
    import json

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

    Args:
        gan: A ``BuiltGAN`` (see [`fusionblocks.ffgan.build_ffgan`][fusionblocks.ffgan.builder.build_ffgan]) or any
            object with the same attributes.
        dataset: Items as dicts with ``image``/``images`` in [-1, 1] and ``caption`` (see ``fusionblocks.data``).
        out_dir: The run folder (checkpoints, ``metrics.jsonl``, ``samples/``).
        config: Loop settings.
        sample_captions: Captions of the sample grids (default: the first ``num_samples`` dataset captions).
        model_config: The model configuration stored in checkpoints (default: ``gan.config`` serialised).

    Shapes:
        Batches of ``batch_size`` images per process; reals are resized to each generator output scale.

    Example:
        >>> gan = build_ffgan("tiny64")
        >>> trainer = Trainer(gan, CaptionedShapes(512), "runs/x", TrainerConfig(steps=200, batch_size=16))
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
    ) -> None:
        self.cfg = config or TrainerConfig()
        self.out_dir = Path(out_dir)
        self.gan = gan
        self.recipe = gan.recipe
        self.dataset = dataset
        check_dataset_vocabulary(gan.text_encoder, dataset)
        self.model_config = dict(model_config) if model_config is not None else config_to_dict(getattr(gan, "config", None))
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

        fmt = torch.channels_last if self.cfg.channels_last else torch.preserve_format
        self.generator: nn.Module = gan.generator.to(self.device, memory_format=fmt).train()
        self.discriminators = nn.ModuleList(list(gan.discriminators)).to(self.device, memory_format=fmt).train()
        self.text_encoder: nn.Module = gan.text_encoder.to(self.device).eval().requires_grad_(False)
        self.image_encoder: nn.Module | None = getattr(gan, "image_encoder", None)
        if self.image_encoder is not None:
            self.image_encoder = self.image_encoder.to(self.device, memory_format=fmt).eval().requires_grad_(False)
        # Fused Adam (one kernel for all parameters) on CUDA and CPU, where PyTorch implements it.
        self.optimizers = self.recipe.build_optimizers(
            self.generator, list(self.discriminators), fused=True if self.device.type in ("cuda", "cpu") else None
        )

        g_run: nn.Module = self.generator
        d_run = list(self.discriminators)
        if self.cfg.compile:
            g_run = torch.compile(g_run)  # type: ignore[assignment]
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
        from .recipes import TrainModules

        self.modules = TrainModules(
            generator=g_run, discriminators=d_run, text_encoder=self.text_encoder, image_encoder=self.image_encoder
        )

        self.sampler = ResumableSampler(
            dataset, num_replicas=self.dist.world_size, rank=self.dist.rank, seed=self.cfg.seed, drop_last=True
        )
        self.batches_per_epoch = self.sampler.num_samples // self.cfg.batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(
                f"dataset: {len(dataset)} items give no full batch of batch_size={self.cfg.batch_size} "
                f"per process (world size {self.dist.world_size})"
            )
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
        if sample_captions is None:
            n = min(self.cfg.num_samples, len(dataset))
            found = [dataset[i].get("caption") for i in range(n)]
            sample_captions = [c for c in found if isinstance(c, str) and c]
            if not sample_captions:
                raise ValueError("sample_captions: the dataset items carry no 'caption' strings; pass sample_captions")
        self.sample_captions = list(sample_captions)
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.last_checkpoint: Path | None = None
        self.stopped_early = False
        self.scale_sizes = self._output_sizes()

    # ------------------------------------------------------------------------------------------------------------
    @property
    def sampling_generator(self) -> nn.Module:
        """The EMA generator when the recipe keeps one, else the live generator."""
        return self.ema.module if self.ema is not None else self.generator

    def _output_sizes(self) -> list[int]:
        out = generate(self.sampling_generator, self.text_encoder, self.sample_captions[:2] or ["a"], seed=0)
        return [int(t.shape[-1]) for t in out.images]

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

    # ------------------------------------------------------------------------------------------------------------
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

    def save(self) -> Path | None:
        """Write a checkpoint for the current step (rank 0 writes; every rank contributes its RNG state)."""
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
                "vocabulary": list(vocab.itos) if hasattr(vocab, "itos") else None,
                "provenance": getattr(self.gan, "provenance", None) or {},
            }
            path = save_checkpoint(
                self.out_dir,
                self.step,
                tensors=self.state_tensors(),
                optimizers={name: opt.state_dict() for name, opt in self.optimizers.items()},
                state=state,
                config=self.model_config,
                keep=self.cfg.keep_checkpoints,
            )
        barrier()
        self.last_checkpoint = path if path is not None else self.last_checkpoint
        return path

    def load(self, path: str | os.PathLike[str] | Checkpoint) -> Checkpoint:
        """Restore weights, EMA, optimisers, step, data position and (same world size) every RNG state.

        Raises:
            CheckpointError: The checkpoint is missing, truncated or corrupt (the message names the file).
        """
        ck = path if isinstance(path, Checkpoint) else load_checkpoint(path, map_location=self.device)
        unwrap(self.generator).load_state_dict(ck.tensors["generator"])
        self.discriminators.load_state_dict(ck.tensors["discriminators"])
        self.text_encoder.load_state_dict(ck.tensors["text_encoder"])
        if self.image_encoder is not None and "image_encoder" in ck.tensors:
            self.image_encoder.load_state_dict(ck.tensors["image_encoder"])
        if self.ema is not None:
            self.ema.module.load_state_dict(ck.tensors.get("generator_ema", ck.tensors["generator"]))
        for name, opt in self.optimizers.items():
            if name in ck.optimizers:
                opt.load_state_dict(ck.optimizers[name])
        state = ck.state
        self.step = int(state.get("step", ck.step))
        saved_world = int(state.get("world_size", 1))
        saved_batch = int(state.get("trainer", {}).get("batch_size", self.cfg.batch_size))
        rngs = state.get("rng") or []
        if saved_world == self.dist.world_size and len(rngs) == self.dist.world_size and saved_batch == self.cfg.batch_size:
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

    # ------------------------------------------------------------------------------------------------------------
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

    def _check_finite(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        names = list(losses)
        values = torch.stack([losses[k].detach().float().reshape(()) for k in names])
        bad = (~torch.isfinite(values)).any().float()
        if self.dist.enabled:
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
        values_cpu = values.cpu()
        if bad.item() > 0:
            finite = torch.isfinite(values_cpu)
            k = int((~finite).nonzero()[0]) if (~finite).any() else 0
            raise NonFiniteLossError(self.step, names[k], float(values_cpu[k]), self.last_checkpoint)
        return values_cpu

    def fit(self, resume: bool | str | os.PathLike[str] = False) -> TrainResult:
        """Train until ``config.steps`` steps are done.

        Args:
            resume: ``True``: continue from the newest checkpoint in ``out_dir`` if there is one;
                a path: continue from that checkpoint; ``False``: continue from this trainer's own state (step 0
                when fresh). Calling ``fit`` again after raising ``config.steps`` therefore trains on.

        Returns:
            [`TrainResult`][fusionblocks.train.trainer.TrainResult].

        Raises:
            FileExistsError: a fresh trainer (step 0) with ``resume=False`` finds checkpoints in ``out_dir`` (an
                earlier run is never overwritten).
            NonFiniteLossError: A loss became NaN/Inf (the last good checkpoint stays on disk).
            CheckpointError: ``resume`` names a corrupt or truncated checkpoint.
        """
        if not resume and self.step == 0 and list_checkpoints(self.out_dir):
            raise FileExistsError(
                f"out_dir: {self.out_dir} already holds checkpoints (newest {list_checkpoints(self.out_dir)[-1].name}); "
                "resume it (resume=True / --resume) or choose another folder"
            )
        if resume:
            if resume is True:
                if list_checkpoints(self.out_dir) or (self.out_dir / "checkpoints" / "latest.json").exists():
                    try:
                        self.load(self.out_dir)
                    except CheckpointError as err:
                        older = [str(p) for p in list_checkpoints(self.out_dir)][:-1]
                        hint = f"; an older checkpoint is still there: {older[-1]} (resume from it explicitly)" if older else ""
                        raise CheckpointError(f"{err}{hint}") from err
            else:
                self.load(resume)  # type: ignore[arg-type]
        is_main = self.dist.is_main
        logger = (
            MetricsLogger(self.out_dir / "metrics.jsonl", tensorboard=self.cfg.tensorboard, truncate_after_step=self.step)
            if is_main
            else None
        )
        grids: list[Path] = []
        start_step = self.step
        total_imgs = self.cfg.batch_size * self.dist.world_size
        bar = None
        if is_main and self.cfg.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.cfg.steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)
        window: list[torch.Tensor] = []
        names: list[str] = []
        t_start = time.perf_counter()
        t_window = t_start
        batches = self._batches()
        try:
            while self.step < self.cfg.steps:
                batch = to_train_batch(next(batches), self.scale_sizes, self.device, channels_last=self.cfg.channels_last)
                losses = self.recipe.iteration(self.modules, batch, self.optimizers, autocast=self.autocast)
                self.step += 1
                try:
                    values = self._check_finite(losses)
                except NonFiniteLossError as err:
                    if logger is not None:
                        logger.log(self.step, {"error": str(err)})
                    raise
                if self.ema is not None:
                    self.ema.update(unwrap(self.generator))
                names = list(losses)
                window.append(values)
                done = self.step == self.cfg.steps
                if self.cfg.max_seconds is not None and time.perf_counter() - t_start > self.cfg.max_seconds:
                    done = True
                    self.stopped_early = self.step < self.cfg.steps
                if bar is not None:
                    bar.update(1)
                    elapsed = max(time.perf_counter() - t_start, 1e-9)
                    post = {k: f"{float(v):.3g}" for k, v in zip(names, values)}
                    post["img/s"] = f"{total_imgs * (self.step - start_step) / elapsed:.1f}"
                    bar.set_postfix(post, refresh=False)
                if self.step % self.cfg.log_every == 0 or done:
                    now = time.perf_counter()
                    mean = torch.stack(window).mean(0)
                    record = {k: float(v) for k, v in zip(names, mean)}
                    record["images_per_s"] = total_imgs * len(window) / max(now - t_window, 1e-9)
                    record["epoch"] = self.epoch
                    if logger is not None:
                        logger.log(self.step, record)
                    window, t_window = [], now
                if is_main and (done or (self.cfg.sample_every and self.step % self.cfg.sample_every == 0)):
                    grids += self.write_samples()
                if done or (self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0):
                    self.save()
                if done:
                    break
        finally:
            if bar is not None:
                bar.close()
            if logger is not None:
                logger.close()
        seconds = time.perf_counter() - t_start
        steps_done = self.step - start_step
        return TrainResult(
            step=self.step,
            out_dir=self.out_dir,
            checkpoint=self.last_checkpoint,
            metrics=self.out_dir / "metrics.jsonl",
            grids=grids,
            seconds=seconds,
            images_per_second=total_imgs * steps_done / seconds if seconds > 0 and steps_done else 0.0,
        )
