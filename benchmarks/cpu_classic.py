"""Classic classifiers at batch 1 on CPU: zoo eager vs torchvision eager, and the zoo's flags side by side.

    .venv/bin/python benchmarks/cpu_classic.py [--models resnet50,vgg16,densenet121,googlenet] [--size 224]
        [--rounds 5] [--iters 3] [--threads 1] [--no-compile] [--json out.json]

For each model, torchvision's own builder and the zoo model get the same (random) weights. Every
configuration is prepared by the harness (zoo.bench.prepare.prepare: conv-BN folding, channels_last,
torch.compile) and timed by the harness protocol (zoo.bench.protocol.time_calls). The configurations
are timed in interleaved rounds (the order rotates every round), so load from other processes on a
shared machine hits all of them alike; the p50 is over all rounds' samples. Speed-up = torchvision
eager fp32 p50 / configuration p50 (> 1: faster). `rel err` is max|out - ref| / max|ref| against
torchvision fp32: bf16 is lossy, the others should be ~1e-6.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torchvision

from zoo.api import build
from zoo.bench.config import BenchConfig
from zoo.bench.prepare import prepare, to_channels_last
from zoo.bench.protocol import time_calls, time_first_call, warm_up
from zoo.bench.rows import make_step

# label -> (channels_last, fuse, precision, compile)
CONFIGS: dict[str, tuple[bool, bool, str, bool]] = {
    "zoo eager": (False, False, "fp32", False),
    "channels_last": (True, False, "fp32", False),
    "fuse": (False, True, "fp32", False),
    "cl+fuse": (True, True, "fp32", False),
    "bf16": (False, False, "bf16", False),
    "cl+fuse+bf16": (True, True, "bf16", False),
    "compile+cl+fuse": (True, True, "fp32", True),
    "compile+cl+fuse+bf16": (True, True, "bf16", True),
}
REFERENCE = "torchvision eager"


@dataclass
class Result:
    samples: list[float] = field(default_factory=list)
    first_s: float = 0.0
    rel_err: float = 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1e3


def torchvision_model(arch: str) -> torch.nn.Module:
    """torchvision's public builder, configured as the zoo's classic family configures it."""
    if arch == "googlenet":
        return torchvision.models.googlenet(weights=None, aux_logits=False, transform_input=True, init_weights=True)
    return getattr(torchvision.models, arch)(weights=None)


def trained_like_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Random init leaves BatchNorm as the identity, which would make conv-BN folding trivially exact;
    give it running statistics and affine terms like a trained network's."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.4 + 0.8)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def bench_model(arch: str, args: argparse.Namespace, configs: dict[str, tuple[bool, bool, str, bool]]) -> dict[str, Result]:
    dev = torch.device("cpu")
    torch.manual_seed(0)
    zoo_model = build(arch)
    trained_like_bn(zoo_model)
    tv = torchvision_model(arch).eval()
    tv.load_state_dict(zoo_model.net.state_dict())  # the very same weights on both sides
    x = torch.rand(1, 3, args.size, args.size)
    with torch.inference_mode():
        ref = tv(x).float()
    steps: dict[str, Any] = {}
    results: dict[str, Result] = {}
    with torch.inference_mode():
        steps[REFERENCE] = lambda: tv(x)
        results[REFERENCE] = Result()
        for label, (cl, fuse, precision, compiled) in configs.items():
            cfg = BenchConfig(channels_last=cl, fuse=fuse, precision=precision, compile=compiled, flops=False)
            prep = prepare(copy.deepcopy(zoo_model), cfg, dev)
            amp = torch.bfloat16 if precision == "bf16" else None
            steps[label] = make_step(prep.runner, to_channels_last((x,), cl), dev, amp)
            results[label] = Result()
        for label, step in steps.items():
            t = time.perf_counter()
            results[label].first_s = time_first_call(step, dev)
            warm_up(step, args.warmup, dev)
            out = step().float()
            results[label].rel_err = (out - ref).abs().max().item() / ref.abs().max().item()
            print(f"    prepared {label:<22} first call {results[label].first_s:7.2f} s "
                  f"(+ warm-up {time.perf_counter() - t - results[label].first_s:5.2f} s), rel err {results[label].rel_err:.1e}",
                  flush=True)
        labels = list(steps)
        for r in range(args.rounds):
            order = labels[r % len(labels):] + labels[:r % len(labels)]
            for label in order:
                results[label].samples.extend(time_calls(steps[label], dev, iters=args.iters))
            print(f"    round {r + 1}/{args.rounds}: " + ", ".join(
                f"{lab} {statistics.median(results[lab].samples) * 1e3:.1f}" for lab in labels[:3]) + " ... ms",
                flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet50,vgg16,densenet121,googlenet")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=3, help="timed calls per configuration per round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    ap.add_argument("--no-compile", action="store_true", help="leave out the torch.compile configurations")
    ap.add_argument("--configs", default=None, help=f"comma-separated subset of: {', '.join(CONFIGS)}")
    ap.add_argument("--json", default=None, help="write all samples and summaries to this file")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = dict(CONFIGS)
    if args.configs:
        configs = {k: CONFIGS[k] for k in args.configs.split(",")}
    if args.no_compile:
        configs = {k: v for k, v in configs.items() if not v[3]}
    print(f"CPU batch 1 @ {args.size}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"{args.rounds} interleaved rounds x {args.iters} calls per configuration", flush=True)
    summary: dict[str, dict[str, Any]] = {}
    for arch in args.models.split(","):
        print(f"  {arch}:", flush=True)
        res = bench_model(arch, args, configs)
        base = res[REFERENCE].p50_ms
        candidates = {k: v for k, v in res.items() if k != REFERENCE}
        best = min(candidates, key=lambda k: candidates[k].p50_ms)
        lossless = {k: v for k, v in candidates.items() if v.rel_err < 1e-3}
        best_fp32 = min(lossless, key=lambda k: lossless[k].p50_ms) if lossless else None
        summary[arch] = {
            "reference_p50_ms": base,
            "configs": {k: {"p50_ms": v.p50_ms, "speedup_vs_torchvision": base / v.p50_ms, "rel_err": v.rel_err,
                            "first_call_s": v.first_s, "samples_ms": [s * 1e3 for s in v.samples]}
                        for k, v in res.items()},
            "winner": best, "winner_lossless": best_fp32,
        }
        torch.compiler.reset()
    # side-by-side table
    labels = [REFERENCE, *configs]
    width = max(len(a) for a in summary) + 2
    print()
    print("p50 ms (speed-up vs torchvision eager fp32; > 1 is faster)")
    print(" " * width + "".join(f"{lab:>24}" for lab in labels))
    for arch, s in summary.items():
        cells = []
        for lab in labels:
            c = s["configs"][lab]
            cells.append(f"{c['p50_ms']:9.1f} ({c['speedup_vs_torchvision']:4.2f}x)")
        print(f"{arch:<{width}}" + "".join(f"{cell:>24}" for cell in cells))
    print()
    for arch, s in summary.items():
        w, wl = s["winner"], s["winner_lossless"]
        c = s["configs"]
        line = (f"{arch}: zoo eager / torchvision eager time ratio {c['zoo eager']['p50_ms'] / s['reference_p50_ms']:.3f}; "
                f"fastest: {w} ({c[w]['speedup_vs_torchvision']:.2f}x, rel err {c[w]['rel_err']:.1e})")
        if wl and wl != w:
            line += f"; fastest at fp32 accuracy: {wl} ({c[wl]['speedup_vs_torchvision']:.2f}x)"
        print(line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"threads": torch.get_num_threads(), "torch": torch.__version__, "size": args.size,
                       "rounds": args.rounds, "iters": args.iters, "models": summary}, fh, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
