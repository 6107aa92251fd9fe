"""Why fp32 runtimes stop where they do on classic CNNs: session settings side by side, with GFLOP/s vs peak.

    .venv/bin/python benchmarks/fp32_sessions.py [--models resnet50,googlenet,densenet121,vgg16] [--threads 1]
        [--rounds 3] [--iters 3] [--size 224]

For each model (torchvision's builder, random weights: time does not depend on them) at batch 1: torchvision
eager fp32 (the reference), ONNX Runtime with each graph optimisation level and with spinning on/off, and
OpenVINO fp32 with the LATENCY and THROUGHPUT hints and CPU pinning on/off. Every session is made the way
zoo/runtimes/runners.py makes it, then one setting changed. Configurations are timed in interleaved rounds
(order rotating); p50 wall time and p50 process CPU time per call (CPU time is the work done, which load
from other processes inflates far less). GFLOP/s = 2 x MACs (torch.utils.flop_counter) / p50 wall; % peak
is against zoo.bench.flops.isa_peak_gflops (threads x 2 FMA x lanes x 2 x clock). For VGG16 the share of
the fully connected layers (weight-read bound at batch 1) is printed too. ONNX files go to a temporary folder,
removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision

from zoo.bench.env import cpu_model
from zoo.bench.flops import isa_peak_gflops

MODELS = ("resnet50", "googlenet", "densenet121", "vgg16")


def torchvision_model(name: str) -> torch.nn.Module:
    kwargs: dict[str, Any] = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    return getattr(torchvision.models, name)(**kwargs).eval()


def gflop(model: torch.nn.Module, x: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x)
    return counter.get_total_flops() / 1e9


def ort_session(path: Path, threads: int, level: str = "ORT_ENABLE_ALL", spin: bool = False) -> Callable[[np.ndarray], Any]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda a: sess.run(None, {name: a})


def ov_session(path: Path, threads: int, hint: str = "LATENCY", pinning: bool = False) -> Callable[[np.ndarray], Any]:
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", {
        "PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads,
        "ENABLE_CPU_PINNING": pinning})
    request = compiled.create_infer_request()
    return lambda a: request.infer([a])


def interleaved(steps: dict[str, Callable[[], Any]], rounds: int, iters: int) -> dict[str, tuple[float, float]]:
    """(p50 wall ms, p50 CPU ms) per step, in rounds whose order rotates."""
    for step in steps.values():
        step()
        step()
    wall: dict[str, list[float]] = {k: [] for k in steps}
    cpu: dict[str, list[float]] = {k: [] for k in steps}
    labels = list(steps)
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            for _ in range(iters):
                t, c = time.perf_counter(), time.process_time()
                steps[label]()
                wall[label].append(time.perf_counter() - t)
                cpu[label].append(time.process_time() - c)
    return {k: (statistics.median(wall[k]) * 1e3, statistics.median(cpu[k]) * 1e3) for k in steps}


def run_model(name: str, args: argparse.Namespace, tmp: Path, peak: float | None) -> None:
    torch.manual_seed(0)
    model = torchvision_model(name)
    x = torch.rand(1, 3, args.size, args.size)
    a = x.numpy()
    path = tmp / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), input_names=["x"], dynamo=False)
    t = args.threads

    def eager() -> Any:
        with torch.inference_mode():
            return model(x)

    steps: dict[str, Callable[[], Any]] = {"torchvision eager": eager}
    steps["ort ALL (zoo)"] = (lambda f: lambda: f(a))(ort_session(path, t))
    steps["ort ALL spin"] = (lambda f: lambda: f(a))(ort_session(path, t, spin=True))
    steps["ort EXTENDED"] = (lambda f: lambda: f(a))(ort_session(path, t, "ORT_ENABLE_EXTENDED"))
    steps["ort BASIC"] = (lambda f: lambda: f(a))(ort_session(path, t, "ORT_ENABLE_BASIC"))
    steps["ov LATENCY (zoo)"] = (lambda f: lambda: f(a))(ov_session(path, t))
    steps["ov LATENCY pinned"] = (lambda f: lambda: f(a))(ov_session(path, t, pinning=True))
    steps["ov THROUGHPUT"] = (lambda f: lambda: f(a))(ov_session(path, t, "THROUGHPUT"))
    res = interleaved(steps, args.rounds, args.iters)
    flops = gflop(model, x)
    ref_wall, ref_cpu = res["torchvision eager"]
    print(f"\n{name}: {flops:.1f} GFLOP per image")
    print(f"{'config':<20}{'wall ms':>9}{'cpu ms':>9}{'speed-up':>10}{'cpu ratio':>10}{'GFLOP/s':>9}{'% peak':>8}")
    for label, (wall, cpu) in res.items():
        rate = flops / wall * 1e3
        share = f"{100 * rate / peak:7.0f}%" if peak else "       -"
        print(f"{label:<20}{wall:>9.1f}{cpu:>9.1f}{ref_wall / wall:>9.2f}x{ref_cpu / cpu:>9.2f}x{rate:>9.1f}{share}")
    if name == "vgg16":
        with torch.inference_mode():
            feats = model.avgpool(model.features(x)).flatten(1)
        parts = interleaved({"features": lambda: eager_part(model.features, x),
                             "classifier": lambda: eager_part(model.classifier, feats)}, args.rounds, args.iters)
        fc_mb = sum(p.numel() for p in model.classifier.parameters()) * 4 / 1e6
        fc_ms = parts["classifier"][0]
        print(f"vgg16 eager: features {parts['features'][0]:.1f} ms, fully connected {fc_ms:.1f} ms "
              f"({fc_ms / (fc_ms + parts['features'][0]):.0%}); the FC layers read {fc_mb:.0f} MB of weights per "
              f"image: {fc_mb / fc_ms:.1f} GB/s")
    path.unlink()


def eager_part(module: torch.nn.Module, x: torch.Tensor) -> Any:
    with torch.inference_mode():
        return module(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--size", type=int, default=224)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peak = isa_peak_gflops(args.threads)
    print(f"{cpu_model()}, {args.threads} threads, torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.2f}; ISA peak {f'{peak[0]:.0f} GFLOP/s ({peak[1]})' if peak else 'unknown'}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            run_model(name, args, Path(tmp), peak[0] if peak else None)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
