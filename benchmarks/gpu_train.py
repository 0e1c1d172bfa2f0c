"""Time-boxed cub256-sized FF-GAN training on CaptionedShapes at 256² with the fusionblocks Trainer (GPU check).

    python benchmarks/gpu_train.py --seconds 180 --out /tmp/run          # CUDA required unless --allow-cpu
    python benchmarks/gpu_train.py --seconds 20 --batch-size 2 --allow-cpu --out /tmp/x --workers 0   # dry run

The model is the ``cub256`` preset (ngf 64, ndf 32, 3 stages to 256², DAMSM BiLSTM 300/256 and Inception-v3 image
encoder with random weights) with the CaptionedShapes vocabulary. The run is calibrated (a short fit, then the
step time) so that training fills about ``--seconds``; it then reports images/s, the data-loader rate on its own,
peak CUDA memory and whether every logged loss stayed finite, as JSON (``<out>/gpu_train.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=180.0, help="training wall time to fill (default 180)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--workers", type=int, default=8, help="DataLoader workers (default 8)")
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile generator and discriminators")
    p.add_argument("--warmup-steps", type=int, default=10, help="steps before timing (compilation happens here)")
    p.add_argument("--calib-steps", type=int, default=20, help="steps timed to calibrate the run length")
    p.add_argument("--dataset-size", type=int, default=20000)
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--allow-cpu", action="store_true", help="permit a CPU dry run (tiny batches)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("FATAL: CUDA is not available (use --allow-cpu for a CPU dry run)", file=sys.stderr)
        return 3
    device = "cuda" if torch.cuda.is_available() else "cpu"
    from fusionblocks.data import CaptionedShapes
    from fusionblocks.ffgan import build_ffgan
    from fusionblocks.train.trainer import Trainer, TrainerConfig

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    gan = build_ffgan(
        "cub256",
        **{"text.vocab_size": None, "text.vocabulary": "captioned_shapes", "text.max_words": 16},
    )
    dataset = CaptionedShapes(size=args.dataset_size, resolution=256, seed=0)
    build_s = time.perf_counter() - t0

    # the data loader on its own: can it keep the GPU fed?
    from torch.utils.data import DataLoader

    from fusionblocks.train.batches import collate_items

    loader = DataLoader(
        dataset, batch_size=args.batch_size, shuffle=True, num_workers=args.workers, collate_fn=collate_items,
        pin_memory=device == "cuda", drop_last=True, persistent_workers=False,
    )  # fmt: skip
    it = iter(loader)
    next(it)
    t_data = time.perf_counter()
    n_data = 0
    for _ in range(min(20, len(dataset) // args.batch_size - 2)):
        next(it)
        n_data += 1
    data_rate = n_data * args.batch_size / (time.perf_counter() - t_data)
    del it, loader

    def config(steps: int) -> TrainerConfig:
        return TrainerConfig(
            steps=steps, batch_size=args.batch_size, device=device, precision=args.precision,
            channels_last=not args.no_channels_last, compile=args.compile, num_workers=args.workers,
            log_every=10, sample_every=0, checkpoint_every=0, progress=False, tensorboard=False,
        )  # fmt: skip

    warm, calib = args.warmup_steps, args.calib_steps
    trainer = Trainer(gan, dataset, out, config(warm))
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t_start = time.perf_counter()
    trainer.fit()  # warm-up (and compilation)
    warm_s = time.perf_counter() - t_start
    t1 = time.perf_counter()
    trainer.cfg.steps = warm + calib
    trainer.fit()
    step_s = (time.perf_counter() - t1) / calib
    remaining = args.seconds - (time.perf_counter() - t_start)
    extra = max(0, int(math.floor(remaining / max(step_s, 1e-6))))
    t2 = time.perf_counter()
    trainer.cfg.steps = warm + calib + extra
    result = trainer.fit()
    main_s = time.perf_counter() - t2
    total_train_s = time.perf_counter() - t_start

    records = []
    metrics_path = out / "metrics.jsonl"
    if metrics_path.exists():
        for line in metrics_path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    loss_values = [v for r in records for k, v in r.items() if isinstance(v, float) and k not in ("images_per_s",)]
    finite = all(math.isfinite(v) for v in loss_values)
    main_rates = [r["images_per_s"] for r in records if r.get("step", 0) > warm + calib and "images_per_s" in r]
    report = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "batch_size": args.batch_size,
        "precision": args.precision,
        "channels_last": not args.no_channels_last,
        "compile": args.compile,
        "workers": args.workers,
        "build_s": build_s,
        "warmup_steps": warm,
        "warmup_s": warm_s,
        "step_s": step_s,
        "steps": result.step,
        "train_s": total_train_s,
        "images_per_s_steady": (extra * args.batch_size / main_s) if extra else None,  # includes the final save
        # the trainer's own per-window rate over the main phase: excludes the checkpoint written at the end
        "images_per_s_logged_median": statistics.median(main_rates) if main_rates else None,
        "images_per_s_including_warmup": result.step * args.batch_size / total_train_s,
        "data_loader_images_per_s": data_rate,
        "cuda_max_allocated_gb": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
        "losses_finite": finite,
        "last_record": records[-1] if records else None,
    }
    (out / "gpu_train.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    if not finite:
        print("FATAL: a logged loss is not finite", file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
