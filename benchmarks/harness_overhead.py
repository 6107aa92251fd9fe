"""The harness's own overhead: zoo.bench's p50 against a bare `for` loop over the same model, same process.

    .venv/bin/python benchmarks/harness_overhead.py [--model resnet18] [--size 224] [--rounds 9] [--iters 15]
                                                    [--threads 1]

The two are measured in alternating rounds (who goes first alternates too), so load from other
processes on a shared machine hits both alike. Reported: the median of each side's per-round p50,
the ratio of those medians, and the median of the per-round paired ratios. Goal: overhead < 2%.

On a busy machine run-to-run noise is a few percent, larger than any real overhead, so the script
also measures the absolute per-call cost of the timing loop itself: the same comparison with a model
that does nothing (nn.Identity on a 1-pixel input), where any harness overhead would be plain.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import zoo
from zoo.api import build
from zoo.model import ZooModel


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
    rep = zoo.benchmark(model, batch_sizes=[1], input_size=size, warmup=warmup, iters=iters, e2e=False, flops=False)
    return rep.rows[0].p50_ms


def empty_model(spec_of: torch.nn.Module) -> ZooModel:
    """A ZooModel whose forward does nothing: timing it measures the loop, not the model."""
    return ZooModel(spec_of.spec, torch.nn.Identity()).eval()


def compare(model: torch.nn.Module, x: torch.Tensor, size: int, rounds: int, iters: int,
            warmup: int, verbose: bool) -> tuple[float, float, float]:
    """Alternating rounds -> (median harness p50, median bare p50, median paired ratio)."""
    harness, bare, paired = [], [], []
    for r in range(rounds):
        if r % 2 == 0:
            h = harness_p50(model, warmup, iters, size)
            b = bare_loop_p50(model, x, warmup, iters)
        else:
            b = bare_loop_p50(model, x, warmup, iters)
            h = harness_p50(model, warmup, iters, size)
        harness.append(h)
        bare.append(b)
        paired.append(h / b)
        if verbose:
            print(f"  round {r + 1}/{rounds}: harness p50 {h:8.2f} ms   bare loop p50 {b:8.2f} ms   ratio {h / b:.4f}")
    return statistics.median(harness), statistics.median(bare), statistics.median(paired)


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
    h_med, b_med, paired_med = compare(model, x, args.size, args.rounds, args.iters, args.warmup, True)
    ratio = h_med / b_med
    overhead = max(ratio, paired_med) - 1
    empty = empty_model(model)
    e_h, e_b, _ = compare(empty, empty.example_inputs(1, 1)[0], 1, args.rounds, 200, args.warmup, False)
    print(f"{args.model} @ {args.size}, batch 1, CPU, {torch.get_num_threads()} threads, "
          f"{args.rounds} alternating rounds x {args.iters} timed calls")
    print(f"  bare for-loop p50 (median of rounds): {b_med:8.2f} ms")
    print(f"  zoo.bench     p50 (median of rounds): {h_med:8.2f} ms")
    print(f"  ratio harness/bare: {ratio:.4f} (median of paired per-round ratios: {paired_med:.4f})")
    print(f"  overhead: {overhead:+.2%}  -> {'PASS' if overhead < 0.02 else 'FAIL'} (goal < 2%)")
    per_call = (e_h - e_b) * 1e3
    print(f"  timing loop alone (a do-nothing model, 200 calls x {args.rounds} rounds): harness {e_h * 1e3:.2f} us, "
          f"bare {e_b * 1e3:.2f} us per call -> {per_call:+.2f} us per call = {per_call / (b_med * 1e3):+.4%} "
          f"of this model's p50")


if __name__ == "__main__":
    main()
