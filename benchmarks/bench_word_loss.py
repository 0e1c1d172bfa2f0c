"""Benchmark: vectorised ``damsm_word_loss`` vs the official per-caption loop (docs/ffgan.md "DAMSM losses",
docs/ffgan.md "Where the official code and the paper differ").

The naive version below is written from docs/ffgan.md: a Python loop over the captions ``i``, each caption's true
words ``e_i`` (``T_i`` of them) scored against every image at once. Both versions run forward + backward (the
GAN and DAMSM training use the gradient) at T = 18 words, 17 × 17 regions, E = 256, float32; measurements
alternate between the two after a warm-up and the median is reported. Not a test.

Usage::

    python benchmarks/bench_word_loss.py            # batches 4, 32, 48; 7 alternating repeats
    python benchmarks/bench_word_loss.py --quick    # batches 4, 32, 48; 1 timed repeat
    python benchmarks/bench_word_loss.py --device cuda --batches 4 32 48 64
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from fusionblocks.losses import damsm_word_loss


def naive_word_loss(regions, words, lengths, gamma1=4.0, gamma2=5.0, gamma3=10.0):
    """The official formulation: loop over captions; returns (loss0, loss1, scores)."""
    batch = regions.shape[0]
    feats = regions.flatten(2)  # (B, E, R)
    columns = []
    for i in range(batch):
        e = words[i, : int(lengths[i])]  # (T_i, E)
        sim = torch.einsum("te,jer->jtr", e, feats)  # (B, T_i, R): caption i vs every image j
        sim = torch.softmax(sim, dim=1)  # over words
        attn = torch.softmax(gamma1 * sim, dim=2)  # over regions
        context = torch.bmm(attn, feats.transpose(1, 2))  # (B, T_i, E)
        cos = (context * e).sum(-1) / (context.norm(dim=-1) * e.norm(dim=-1)).clamp(min=1e-8)
        columns.append(torch.log(torch.exp(gamma2 * cos).sum(dim=1)))  # (B,)
    scores = gamma3 * torch.stack(columns, dim=1)  # rows = images, columns = captions
    labels = torch.arange(batch, device=regions.device)
    return F.cross_entropy(scores, labels), F.cross_entropy(scores.t(), labels), scores


def _inputs(batch, length, channels, side, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    regions = torch.randn(batch, channels, side, side, generator=g) * 0.1
    words = torch.randn(batch, length, channels, generator=g) * 0.1
    lengths = torch.randint(max(1, length // 3), length + 1, (batch,), generator=g)
    lengths[0] = length
    mask = torch.arange(length)[None, :] < lengths[:, None]
    return regions.to(device), words.to(device), mask.to(device), lengths


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device):
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 32, 48])
    parser.add_argument("--words", type=int, default=18)
    parser.add_argument("--side", type=int, default=17)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="1 timed repeat after the checking run (which warms up)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = 1, 0
    device = torch.device(args.device)

    print(f"device={device} threads={torch.get_num_threads()} T={args.words} regions={args.side}x{args.side} "
          f"E={args.channels} forward+backward, median of {args.repeats} alternating runs")
    print(f"{'batch':>5} | {'vectorised ms':>13} | {'per-caption loop ms':>19} | {'speed-up':>8} | {'max |dS|':>9}")
    print("-" * 68)
    for batch in args.batches:
        regions, words, mask, lengths = _inputs(batch, args.words, args.channels, args.side, device)

        def vectorised():
            r, w = regions.clone().requires_grad_(), words.clone().requires_grad_()
            out = damsm_word_loss(r, w, mask)
            (out.loss0 + out.loss1).backward()
            return out.scores

        def naive():
            r, w = regions.clone().requires_grad_(), words.clone().requires_grad_()
            loss0, loss1, scores = naive_word_loss(r, w, lengths)
            (loss0 + loss1).backward()
            return scores

        diff = (vectorised() - naive()).abs().max().item()
        for _ in range(args.warmup):
            vectorised()
            naive()
        fast, slow = [], []
        for _ in range(args.repeats):
            fast.append(_time(vectorised, device))
            slow.append(_time(naive, device))
        f, s = statistics.median(fast) * 1e3, statistics.median(slow) * 1e3
        print(f"{batch:>5} | {f:>13.1f} | {s:>19.1f} | {s / f:>7.2f}x | {diff:>9.2e}")


if __name__ == "__main__":
    main()
