"""fusionblocks vs a re-implementation of the official FF-GAN formulation, measured side by side.

    python benchmarks/run.py --quick                  # CPU, a few minutes: batch 4, fewer repeats
    python benchmarks/run.py                          # full CPU run (batch 4 and 16, more repeats)
    python benchmarks/run.py --device cuda            # GPU (adds torch.compile variants)
    python benchmarks/run.py --only train,wordloss --json out.json

Prints one table per case and writes JSON with every timing, the ratio fusionblocks / reference of median times
(< 1 means fusionblocks is faster), peak memory (CPU RSS during the call; CUDA max allocated above what was
allocated before the call) and achieved FLOP/s (``torch.utils.flop_counter``) against the measured matmul rate.
All variants of a case run alternately in this one process after warm-up; read the ratios, not the absolute times.
The headline ratio compares the best (minimum) time of each variant, the usual estimator on a shared machine where
other processes only ever add time; the ratio of medians is reported next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks.harness import Case, RSSSampler, matmul_rate, run_case  # noqa: E402

CASES = ("train", "sampling", "ffblock", "wordloss", "rprecision")

TARGETS = {  # (case prefix, variant, maximum ratio) from issue 8; CPU targets only apply on CPU
    "cpu": [
        ("train_iter_b4", "fusionblocks fp32", 0.85),
        ("train_iter_b4", "fusionblocks bf16", 0.5),
        ("rprecision_", "fusionblocks r_precision", 0.1),
        ("word_loss_b48", "fusionblocks fp32", 0.2),
    ],
    "cuda": [
        ("train_iter_b4", "fusionblocks bf16", 0.5),
        ("train_iter_b16", "fusionblocks bf16", 0.5),
    ],
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CPU-sized: batch 4 only, 4 repeats, 1 warm-up")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--only", default=",".join(CASES), help=f"comma list of cases among {','.join(CASES)}")
    p.add_argument("--batches", default=None, help="training batch sizes (default 4,16; --quick: 4)")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per case (default 5; --quick 3)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up calls per variant (default 2; --quick 1)")
    p.add_argument(
        "--rprec-samples", type=int, default=None, help="R-precision samples (default 1000; --quick 200)"
    )
    p.add_argument(
        "--rprec-images", type=int, default=None,
        help="R-precision test-set images (default samples // 10: the official samples/test-set ratio)",
    )  # fmt: skip
    p.add_argument("--compile", action="store_true", help="add torch.compile variants (default on CUDA)")
    p.add_argument("--no-compile", action="store_true", help="no torch.compile variants, even on CUDA")
    p.add_argument(
        "--train-variants",
        default=None,
        help="comma list of fusionblocks training variants: a precision (fp32 or bf16) joined with '+' to any of "
        "channels_last, unfused_adam, compile (default: a set of them; compile with --compile / on CUDA)",
    )
    p.add_argument("--no-flops", action="store_true", help="skip FLOP counting")
    p.add_argument("--json", default="benchmarks/results.json", help="where to write the JSON results")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    return p.parse_args(argv)


def machine_info(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def fmt_table(case: Case, results: dict[str, Any], matmul: dict[str, float]) -> str:
    ref_name = next(iter(case.variants))
    ref_median = results[ref_name].median_s
    ref_min = results[ref_name].min_s
    lines = [f"\n== {case.name}: {case.description}"]
    head = f"{'variant':40s} {'median s':>10s} {'min s':>9s} {'items/s':>9s} {'ratio':>7s} {'speed-up':>8s} {'ratio(med)':>10s} " \
           f"{'peakRSS+MB':>10s} {'cudaMB':>8s} {'GFLOP':>9s} {'%fp32mm':>8s}"  # fmt: skip
    lines.append(head)
    lines.append("-" * len(head))
    for name, res in results.items():
        ratio = res.min_s / ref_min
        ratio_med = res.median_s / ref_median
        flops = f"{res.flops / 1e9:9.1f}" if res.flops else f"{'-':>9s}"
        frac = (
            f"{100 * res.flops / res.min_s / matmul['fp32']:7.0f}%" if res.flops and matmul.get("fp32") else
            f"{'-':>8s}"
        )  # fmt: skip
        cuda = f"{res.cuda_peak_mb:8.0f}" if res.cuda_peak_mb is not None else f"{'-':>8s}"
        lines.append(
            f"{name:40s} {res.median_s:10.4f} {res.min_s:9.4f} {res.items / res.median_s:9.2f} {ratio:7.3f} "
            f"{1 / ratio:7.2f}x {res.peak_rss_delta_mb:10.0f} {cuda} {flops} {frac}"
        )
    for note in case.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    repeats = args.repeats or (4 if quick else 5)
    warmup = args.warmup or (1 if quick else 2)
    batches = [int(b) for b in (args.batches or ("4" if quick else "4,16")).split(",")]
    rprec_samples = args.rprec_samples or (200 if quick else 1000)
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = sorted(set(only) - set(CASES))
    if unknown:
        print(f"error: --only: unknown cases {unknown}; choose among {CASES}", file=sys.stderr)
        return 2
    use_compile = (args.compile or device.type == "cuda") and not args.no_compile
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 on both sides
        torch.backends.cudnn.allow_tf32 = False

    from benchmarks import workloads as W

    def log(msg: str) -> None:
        print(msg, flush=True)

    info = machine_info(device)
    log(f"machine: {info}")
    matmul = {
        "fp32": matmul_rate(device, torch.float32),
        "bf16": matmul_rate(device, torch.bfloat16),
    }
    log(f"matmul rate: fp32 {matmul['fp32'] / 1e9:.0f} GFLOP/s, bf16 {matmul['bf16'] / 1e9:.0f} GFLOP/s")

    builders: list[tuple[str, Any]] = []
    if "train" in only:
        train_variants = ["fp32", "fp32+channels_last", "bf16", "bf16+channels_last"]
        if not quick:
            train_variants += [
                "fp32+unfused_adam", "bf16+unfused_adam",
            ]  # fmt: skip
        if use_compile:
            train_variants.append("bf16+channels_last+compile")
        if args.train_variants:
            train_variants = [v.strip() for v in args.train_variants.split(",") if v.strip()]
        for b in batches:
            builders.append(("train", lambda b=b: W.make_train(device, b, tuple(train_variants), log=log)))
    if "sampling" in only:
        builders.append(("sampling", lambda: W.make_sampling(device, 4 if quick else 16, log=log)))
    if "ffblock" in only:
        builders.append(("ffblock", lambda: W.make_ffblock(device, 4, log=log)))
    if "wordloss" in only:
        builders.append(("wordloss", lambda: W.make_word_loss(device, 48, log=log)))
    if "rprecision" in only:
        builders.append(("rprecision", lambda: W.make_rprecision(device, rprec_samples, args.rprec_images, log=log)))

    sampler = RSSSampler()
    report: dict[str, Any] = {"machine": info, "matmul_flops_per_s": matmul, "quick": quick, "cases": []}
    tables = []
    t_start = time.perf_counter()
    try:
        for kind, build in builders:
            t0 = time.perf_counter()
            log(f"\n[{kind}] building ...")
            case = build()
            log(f"[{case.name}] {case.description} (built in {time.perf_counter() - t0:.1f} s)")
            case_repeats = min(repeats, 3) if (quick and kind == "rprecision") else repeats
            results = run_case(case, device, case_repeats, warmup, sampler, flops=not args.no_flops, log=log)
            ref_name = next(iter(case.variants))
            ref_median = results[ref_name].median_s
            ref_min = results[ref_name].min_s
            entry = {
                "name": case.name,
                "description": case.description,
                "params": case.params,
                "notes": case.notes,
                "reference": ref_name,
                "variants": {n: r.to_dict(matmul) for n, r in results.items()},
                "ratio_vs_reference": {n: r.min_s / ref_min for n, r in results.items() if n != ref_name},
                "ratio_of_medians_vs_reference": {
                    n: r.median_s / ref_median for n, r in results.items() if n != ref_name
                },
                "seconds": time.perf_counter() - t0,
            }
            report["cases"].append(entry)
            if args.json:  # written after every case, so that a run cut short keeps what it measured
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps(report, indent=2, default=str))
            table = fmt_table(case, results, matmul)
            tables.append(table)
            log(table)
            del case, results
            if device.type == "cuda":
                torch.cuda.empty_cache()
    finally:
        sampler.close()

    checks = []
    for prefix, variant, limit in TARGETS.get(device.type, []):
        for entry in report["cases"]:
            if entry["name"].startswith(prefix) and variant in entry["ratio_vs_reference"]:
                ratio = entry["ratio_vs_reference"][variant]
                checks.append(
                    {"case": entry["name"], "variant": variant, "ratio": ratio, "target": limit, "ok": ratio <= limit}
                )
    report["targets"] = checks
    report["total_seconds"] = time.perf_counter() - t_start

    print("\n" + "=" * 100)
    print("SUMMARY: ratio = fusionblocks time / reference time, best of the alternating runs (< 1 is faster);")
    print("         the ratio of medians is shown too (they agree on a quiet machine)")
    for entry in report["cases"]:
        for name, ratio in entry["ratio_vs_reference"].items():
            med = entry["ratio_of_medians_vs_reference"][name]
            print(f"  {entry['name']:18s} {name:46s} ratio {ratio:6.3f} ({1 / ratio:6.2f}x faster)  medians {med:6.3f}")
    if checks:
        print("targets (issue 8):")
        for c in checks:
            mark = "OK  " if c["ok"] else "MISS"
            print(f"  [{mark}] {c['case']:18s} {c['variant']:28s} ratio {c['ratio']:.3f} <= {c['target']}")
    print(f"total {report['total_seconds']:.0f} s")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
