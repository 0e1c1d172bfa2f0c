"""Measurement helpers: alternating timings, peak memory, FLOP counts and the machine's matmul rate.

Timings of the reference and of fusionblocks are taken *alternately in one process* (A B C, then B C A, …) after
warm-up, so that the load of a shared machine affects every variant alike; ratios of medians are what to read.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

__all__ = ["Case", "VariantResult", "RSSSampler", "count_flops", "matmul_rate", "run_case", "sync"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:  # pragma: no cover - non-Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RSSSampler:
    """Polls the process RSS in a background thread; ``peak_since_reset()`` is the largest value seen.

    Shapes:
        Not applicable.
    """

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s = interval_s
        self._peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss = _rss_bytes()
            if rss > self._peak:
                self._peak = rss
            time.sleep(self.interval_s)

    def reset(self) -> int:
        """Restart the peak at the current RSS and return it (bytes)."""
        self._peak = _rss_bytes()
        return self._peak

    def peak_since_reset(self) -> int:
        """Largest RSS (bytes) seen since the last :meth:`reset`, including now."""
        self._peak = max(self._peak, _rss_bytes())
        return self._peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn`` (matmuls and convolutions, forward and backward) by ``torch.utils.flop_counter``."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def matmul_rate(device: torch.device, dtype: torch.dtype, size: int = 2048, seconds: float = 1.0) -> float:
    """Measured dense matmul rate (FLOP/s) of ``size × size`` products in ``dtype`` on ``device``."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    sync(device)
    count = 0
    start = time.perf_counter()
    while True:
        a @ b
        count += 1
        if count % 4 == 0:
            sync(device)
            if time.perf_counter() - start > seconds:
                break
    elapsed = time.perf_counter() - start
    return 2.0 * size**3 * count / elapsed


@dataclass
class VariantResult:
    """Timings and resources of one variant of a case."""

    name: str
    times_s: list[float] = field(default_factory=list)
    peak_rss_delta_mb: float = 0.0
    peak_rss_mb: float = 0.0
    cuda_peak_mb: float | None = None
    flops: int | None = None
    items: int = 1

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s) if self.times_s else float("nan")

    @property
    def min_s(self) -> float:
        return min(self.times_s) if self.times_s else float("nan")

    def to_dict(self, matmul: dict[str, float]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "times_s": [round(t, 5) for t in self.times_s],
            "median_s": self.median_s,
            "min_s": self.min_s,
            "items_per_s": self.items / self.median_s if self.times_s else None,
            "items_per_s_best": self.items / self.min_s if self.times_s else None,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_rss_delta_mb": round(self.peak_rss_delta_mb, 1),
            "cuda_max_allocated_delta_mb": None if self.cuda_peak_mb is None else round(self.cuda_peak_mb, 1),
            "flops": self.flops,
        }
        if self.flops and self.times_s:
            rate = self.flops / self.median_s
            out["flops_per_s"] = rate
            out["fraction_of_fp32_matmul"] = rate / matmul["fp32"] if matmul.get("fp32") else None
            out["fraction_of_bf16_matmul"] = rate / matmul["bf16"] if matmul.get("bf16") else None
        return out


@dataclass
class Case:
    """One benchmark: the reference and one or more fusionblocks variants of the same computation.

    Args:
        name: Short name (table row group).
        description: What is measured.
        variants: Name → zero-argument callable; the first is the reference (the ratios' denominator).
        items: Items per call (images, samples) for throughput columns.
        params: Sizes, for the JSON.
    """

    name: str
    description: str
    variants: dict[str, Callable[[], Any]]
    items: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_case(
    case: Case,
    device: torch.device,
    repeats: int,
    warmup: int,
    sampler: RSSSampler,
    flops: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, VariantResult]:
    """Warm up every variant (FLOPs counted on the first warm-up call), then time them alternately.

    The order rotates every round so that no variant always runs first. Peak RSS is sampled during each timed
    call; CUDA peak memory is ``max_memory_allocated`` over each timed call.
    """
    names = list(case.variants)
    results = {n: VariantResult(n, items=case.items) for n in names}
    for n in names:
        fn = case.variants[n]
        for w in range(max(1, warmup)):
            t0 = time.perf_counter()
            if w == 0 and flops:
                results[n].flops = count_flops(fn)
            else:
                fn()
            sync(device)
            log(f"    warm-up {n}: {time.perf_counter() - t0:.3f} s")
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for n in order:
            fn = case.variants[n]
            sync(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
                base_cuda = torch.cuda.memory_allocated(device)
            base = sampler.reset()
            t0 = time.perf_counter()
            fn()
            sync(device)
            elapsed = time.perf_counter() - t0
            peak = sampler.peak_since_reset()
            res = results[n]
            res.times_s.append(elapsed)
            res.peak_rss_delta_mb = max(res.peak_rss_delta_mb, (peak - base) / 2**20)
            res.peak_rss_mb = max(res.peak_rss_mb, peak / 2**20)
            if device.type == "cuda":
                cuda_peak = (torch.cuda.max_memory_allocated(device) - base_cuda) / 2**20
                res.cuda_peak_mb = max(res.cuda_peak_mb or 0.0, cuda_peak)
        log(f"    round {r + 1}/{repeats}: " + ", ".join(f"{n} {results[n].times_s[-1]:.3f} s" for n in names))
    return results
