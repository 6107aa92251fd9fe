"""The harness's own overhead: zoo.bench's p50 against a bare `for` loop over the same model, same process.

    .venv/bin/python benchmarks/harness_overhead.py [--model resnet18] [--size 224] [--rounds 9] [--iters 15]
                                                    [--threads 1]

The two are measured in alternating rounds (who goes first alternates too), so load from other
processes on a shared machine hits both alike. Reported: the median of each side's per-round p50,
the ratio of those medians, and the median of the per-round paired ratios. Goal: overhead < 2%.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import zoo
from zoo.api import build


def bare_loop_p50(model: torch.nn.Module, x: torch.Tensor, warmup: int, iters: int) -> float:
    """What a careful user would write by hand: inference mode, warm-up, perf_counter per call."""
    with torch.inference_mode():
        for _ in range(warmup + 1):
            model(x)
        times = []
        for _ in range(iters):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def harness_p50(model: torch.nn.Module, warmup: int, iters: int, size: int) -> float:
    rep = zoo.bench(model, batch_sizes=[1], input_size=size, warmup=warmup, iters=iters, e2e=False, flops=False)
    return rep.rows[0].p50_ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iters", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build(args.model)
    x = model.example_inputs(1, args.size)[0]
    harness, bare, paired = [], [], []
    for r in range(args.rounds):
        if r % 2 == 0:
            h = harness_p50(model, args.warmup, args.iters, args.size)
            b = bare_loop_p50(model, x, args.warmup, args.iters)
        else:
            b = bare_loop_p50(model, x, args.warmup, args.iters)
            h = harness_p50(model, args.warmup, args.iters, args.size)
        harness.append(h)
        bare.append(b)
        paired.append(h / b)
        print(f"  round {r + 1}/{args.rounds}: harness p50 {h:8.2f} ms   bare loop p50 {b:8.2f} ms   ratio {h / b:.4f}")
    h_med, b_med = statistics.median(harness), statistics.median(bare)
    ratio, paired_med = h_med / b_med, statistics.median(paired)
    overhead = max(ratio, paired_med) - 1
    print(f"{args.model} @ {args.size}, batch 1, CPU, {torch.get_num_threads()} threads, "
          f"{args.rounds} alternating rounds x {args.iters} timed calls")
    print(f"  bare for-loop p50 (median of rounds): {b_med:8.2f} ms")
    print(f"  zoo.bench     p50 (median of rounds): {h_med:8.2f} ms")
    print(f"  ratio harness/bare: {ratio:.4f} (median of paired per-round ratios: {paired_med:.4f})")
    print(f"  overhead: {overhead:+.2%}  -> {'PASS' if overhead < 0.02 else 'FAIL'} (goal < 2%)")


if __name__ == "__main__":
    main()
