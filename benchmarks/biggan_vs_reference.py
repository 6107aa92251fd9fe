"""BigGAN-deep forward latency on CPU: the zoo against pytorch-pretrained-biggan, in one run, as ratios.

    .venv/bin/python benchmarks/biggan_vs_reference.py [--model biggan-deep-128] [--batch-sizes 1,8]
        [--threads 2] [--rounds 5] [--iters 3] [--configs ...] [--no-compile] [--json out.json]

Both sides hold the same random weights: the reference BigGAN (its config for the model, spectral-norm vectors
settled by three power iterations, like its TF conversion) is saved as pytorch_model.bin + config.json and
converted through the zoo's pytorch-biggan converter, so the zoo runs exactly what `zoo import` would produce.
Batch-norm statistics, attention gain and class embeddings are randomised like a trained network's (with the
constructor's defaults the output is ~0.01 everywhere and the check below would be weak). Same truncated noise
(the reference's truncated_noise_sample), same one-hot classes, truncation 0.4, eval
mode, torch.inference_mode on both sides. Each configuration's output is checked against the reference's
(max abs diff). Zoo configurations come from the benchmark harness (zoo.bench.runner.prepare): channels_last,
torch.compile. All are timed in interleaved rounds (the order rotates) so load from other processes hits all
alike; p50 over all samples; ratio = zoo p50 / reference p50 (< 1: the zoo is faster).

Where the zoo's time goes differently: the reference recomputes every spectral-normalised weight
(weight_orig / u.(W v)) at each forward, re-reading ~50M parameters; the zoo folds that into the weights
once, fuses each class-conditional batch norm into one multiply-add, and computes 3 of conv_to_rgb's 128
output channels instead of all of them (the port keeps only the first 3).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_pretrained_biggan as ref_pkg
import torch

import zoo
from zoo.bench.config import BenchConfig
from zoo.bench.prepare import prepare, to_channels_last
from zoo.bench.protocol import time_calls, time_first_call, warm_up
from zoo_gan.convert import read_biggan

CPU = torch.device("cpu")
TRUNCATION = 0.4
REFERENCE = "reference"
# label -> (channels_last, compile)
CONFIGS: dict[str, tuple[bool, bool]] = {
    "zoo eager": (False, False),
    "channels_last": (True, False),
    "compile": (False, True),
    "compile+cl": (True, True),
}


def reference_model(name: str, tmp: Path) -> tuple[torch.nn.Module, Path]:
    spec = zoo.get_spec(name)
    opts = dict(spec.options)
    cfg = ref_pkg.BigGANConfig(**{k: opts[k] for k in ("output_dim", "z_dim", "channel_width", "num_classes",
                                                        "attention_layer_position") if k in opts},
                               layers=[tuple(x) for x in opts["layers"]])
    torch.manual_seed(0)
    ref = ref_pkg.BigGAN(cfg)
    with torch.no_grad():  # trained-like statistics, attention on: outputs far from 0, so the check means something
        for name, t in [*ref.named_buffers(), *ref.named_parameters()]:
            if name.endswith("running_means"):
                t.normal_(0, 0.3)
            elif name.endswith("running_vars"):
                t.uniform_(0.5, 2.0)
            elif name.endswith("gamma"):
                t.fill_(0.7)
            elif name.endswith("bn.weight"):  # the port leaves these uninitialised (torch.Tensor(n))
                t.normal_(1, 0.1)
            elif name.endswith("bn.bias"):
                t.normal_(0, 0.1)
        ref.embeddings.weight.normal_(0, 0.5)
        ref.train()
        z = torch.randn(2, cfg.z_dim)
        for _ in range(3):
            ref(z, torch.eye(cfg.num_classes)[:2], 0.5)
    ref.eval()
    torch.save(ref.state_dict(), tmp / "pytorch_model.bin")
    (tmp / "config.json").write_text(cfg.to_json_string())
    return ref, tmp / "pytorch_model.bin"


def bench(name: str, bs: int, args: argparse.Namespace, ref: torch.nn.Module, zoo_model: Any) -> dict[str, Any]:
    noise = torch.from_numpy(ref_pkg.truncated_noise_sample(batch_size=bs, truncation=TRUNCATION, seed=0))
    classes = torch.from_numpy(ref_pkg.one_hot_from_int(list(range(bs)), batch_size=bs))
    with torch.inference_mode():
        expected = ref(noise, classes, TRUNCATION)
    steps: dict[str, Callable[[], Any]] = {}

    def ref_step() -> Any:
        with torch.inference_mode():
            return ref(noise, classes, TRUNCATION)

    steps[REFERENCE] = ref_step
    check: dict[str, str] = {REFERENCE: "reference"}
    for label, (cl, comp) in CONFIGS.items():
        if label not in args.configs:
            continue
        prep = prepare(copy.deepcopy(zoo_model), BenchConfig(channels_last=cl, compile=comp, flops=False), CPU)

        def step(r: Callable[..., Any] = prep.runner, c: bool = cl) -> Any:
            with torch.inference_mode():
                return r(to_channels_last(noise, c), classes, TRUNCATION)

        steps[label] = step
    samples: dict[str, list[float]] = {k: [] for k in steps}
    first: dict[str, float] = {}
    for label, step in steps.items():
        t = time.perf_counter()
        first[label] = time_first_call(step, CPU)
        warm_up(step, args.warmup, CPU)
        if label != REFERENCE:
            check[label] = (f"max abs diff {(step() - expected).abs().max().item():.2e} "
                            f"(reference output std {expected.std().item():.2f})")
        print(f"    bs={bs} prepared {label:<14} first call {first[label]:7.2f} s "
              f"(+ warm-up {time.perf_counter() - t - first[label]:5.2f} s), {check[label]}", flush=True)
    labels = list(steps)
    for r in range(args.rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            samples[label].extend(time_calls(steps[label], CPU, iters=args.iters))
        print(f"    bs={bs} round {r + 1}/{args.rounds}: " + ", ".join(
            f"{lab} {statistics.median(samples[lab]) * 1e3:.1f}" for lab in labels) + " ms", flush=True)
    base = statistics.median(samples[REFERENCE]) * 1e3
    return {"batch_size": bs, "reference_p50_ms": base,
            "rows": {lab: {"p50_ms": statistics.median(s) * 1e3, "ratio_vs_reference": statistics.median(s) * 1e3 / base,
                           "images_per_s": bs / statistics.median(s), "first_call_s": first[lab], "check": check[lab],
                           "samples_ms": [x * 1e3 for x in s]} for lab, s in samples.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="biggan-deep-128")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=3, help="timed calls per configuration per round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of: {', '.join(CONFIGS)}")
    ap.add_argument("--no-compile", action="store_true", help="leave out the torch.compile configurations")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    unknown = [c for c in args.configs.split(",") if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configurations {unknown} (known: {', '.join(CONFIGS)})")
    args.configs = [c for c in args.configs.split(",") if not (args.no_compile and CONFIGS[c][1])]
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        ref, path = reference_model(args.model, Path(tmp))
        spec = zoo.get_spec(args.model)
        model = zoo.build(spec)
        model.net.load_state_dict(read_biggan(path, spec), strict=True)
        model.eval()
    print(f"{args.model}: torch {torch.__version__}, {torch.get_num_threads()} threads, truncation {TRUNCATION}")
    results = [bench(args.model, int(bs), args, ref, model) for bs in args.batch_sizes.split(",")]
    print(f"\n{'batch':>5}  {'configuration':<14} {'p50 ms':>9} {'img/s':>8} {'ratio':>7}  check")
    for res in results:
        for lab, row in res["rows"].items():
            print(f"{res['batch_size']:>5}  {lab:<14} {row['p50_ms']:9.1f} {row['images_per_s']:8.2f} "
                  f"{row['ratio_vs_reference']:7.3f}  {row['check']}")
    print("ratio = zoo p50 / reference p50 (< 1: the zoo is faster)")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "threads": torch.get_num_threads(),
                                               "torch": torch.__version__, "results": results}, indent=2))


if __name__ == "__main__":
    main()
