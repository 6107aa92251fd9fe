"""The zoo's runtime backends against the references of issue 15, in one run, same CPU, same threads.

    .venv/bin/python benchmarks/runtimes.py [--threads 2] [--rounds 5] [--iters 4] [--classic resnet50,...]
        [--image PATH] [--json out.json]

1. yolov3-tiny (the official Darknet cfg and weights from ../shared/data) against OpenCV DNN
   (cv2.dnn.readNetFromDarknet on the same files):
   - network fp32: OpenCV `net.forward` on a 416x416 blob against each backend's `forward` on the same pixels;
   - end to end on a real photo, from the file on disk to the final boxes: OpenCV imread + blobFromImage +
     forward + class-wise NMSBoxes (benchmarks/yolo_vs_opencv.py's pipeline) against `model.predict(path)`
     (decode + letterbox + network + decode boxes + NMS) on each backend;
   - best precision: OpenVINO bf16 (where the CPU has it), whose detections must equal torch fp32's
     (zoo.tasks.parity.compare_results: same classes, IoU >= 0.9, score within 0.02) on every shared photo.
2. resnet50 / googlenet / densenet121 / vgg16 against torchvision eager (torchvision's own builder holding
   the zoo model's weights): network fp32 per backend (geomean of the speed-ups over the four), best
   precision (the fastest backend/precision per model whose top-1 equals torchvision's on every shared
   photo; geomean), and top-1 unchanged on the shared photos. Weights: cached ones when present, else random
   init (timing does not depend on them; top-1 of a random network is still a check of the numerics).

Each backend is `zoo.runtimes.with_backend` (exported once, cached in ZOO_HOME, compiled with --threads).
All contenders of one comparison are timed in interleaved rounds (the order rotates every round), so load
from other processes on a shared machine hits them alike; p50 over all samples. ratio = reference p50 /
contender p50 (> 1: faster than the reference). Goals (issue 15): yolov3-tiny network fp32 >= 1.7x OpenCV,
end to end >= 1.5x, bf16 >= 3x with the detections unchanged; classic fp32 geomean >= 3x torchvision eager,
best precision geomean >= 5x with top-1 unchanged.

On a machine shared with other busy processes, run with OMP_WAIT_POLICY=PASSIVE (see yolo_vs_opencv.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from yolo_vs_opencv import CONF, NMS, opencv_pipeline  # noqa: E402

import zoo  # noqa: E402
from zoo.bench.prepare import load_for_bench  # noqa: E402
from zoo.bench.protocol import time_calls, warm_up  # noqa: E402
from zoo.runtimes import with_backend  # noqa: E402
from zoo.runtimes.runners import cpu_has_bf16  # noqa: E402
from zoo.tasks.parity import compare_results  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CPU = torch.device("cpu")
CLASSIC = ("resnet50", "googlenet", "densenet121", "vgg16")
GOALS = {"yolo_fp32": 1.7, "yolo_e2e": 1.5, "yolo_best": 3.0, "classic_fp32": 3.0, "classic_best": 5.0}


def variants(threads: int) -> list[tuple[str, str]]:
    """(backend, precision) pairs to run: fp32 everywhere, plus OpenVINO bf16 where the CPU has it."""
    out = [("torch", "fp32"), ("onnxruntime", "fp32"), ("openvino", "fp32")]
    if cpu_has_bf16():
        out.append(("openvino", "bf16"))
    return out


def interleaved(steps: dict[str, Callable[[], Any]], rounds: int, iters: int, warmup: int) -> dict[str, float]:
    """p50 ms of each step, timed in rounds whose order rotates."""
    for step in steps.values():
        warm_up(step, warmup, CPU)
    samples: dict[str, list[float]] = {k: [] for k in steps}
    labels = list(steps)
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            samples[label].extend(time_calls(steps[label], CPU, iters=iters))
    return {k: statistics.median(v) * 1e3 for k, v in samples.items()}


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def load_backends(model: Any, threads: int, dynamic_batch: bool = True) -> dict[str, Any]:
    """Every (backend, precision) of `variants`; yolov3-tiny takes a fixed batch-1 export, as OpenCV's net is."""
    out: dict[str, Any] = {}
    for backend, precision in variants(threads):
        m = model if (backend, precision) == ("torch", "fp32") else with_backend(
            model, backend, precision=precision, threads=threads, dynamic_batch=dynamic_batch)
        info = getattr(m, "backend_info", {}) or {}
        label = f"{backend} {precision}"
        out[label] = m
        if info:
            print(f"    {label:<17} export {info.get('export_s', 0):5.1f} s{' (cached)' if info.get('cache_hit') else ''}"
                  f", compile {info.get('compile_s', 0):5.1f} s, export parity {info.get('parity')}", flush=True)
    return out


# ---------------------------------------------------------------------------------------------- yolov3-tiny
def yolo(args: argparse.Namespace, photos: list[Path]) -> dict[str, Any]:
    cfg, weights = DATA / "yolov3-tiny.cfg", DATA / "yolov3-tiny.weights"
    model = zoo.load("yolov3-tiny", weights=weights).eval()
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    names = list(net.getUnconnectedOutLayersNames())
    print("  yolov3-tiny (official Darknet weights):", flush=True)
    models = load_backends(model, args.threads, dynamic_batch=False)
    image = args.image
    bgr = cv2.imread(str(image))
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    blob = cv2.dnn.blobFromImage(bgr, 1 / 255.0, (416, 416), swapRB=True, crop=False)
    batch = torch.from_numpy(blob.copy())  # the same pixels for every network

    def cv_net() -> Any:
        net.setInput(blob)
        return net.forward(names)

    net_steps: dict[str, Callable[[], Any]] = {"opencv dnn": cv_net}
    for label, m in models.items():
        net_steps[label] = lambda m=m: m(batch)
    e2e_steps: dict[str, Callable[[], Any]] = {
        "opencv dnn": lambda: opencv_pipeline(net, names, cv2.imread(str(image)), 416)}
    for label, m in models.items():
        e2e_steps[label] = lambda m=m: m.predict(str(image), conf=CONF, iou=NMS)
    with torch.inference_mode():
        fwd = interleaved(net_steps, args.rounds, args.iters, args.warmup)
        e2e = interleaved(e2e_steps, args.rounds, args.iters, args.warmup)
        checks = {}
        ref = {p: models["torch fp32"].predict(str(p), conf=CONF, iou=NMS) for p in photos}
        for label, m in models.items():
            verdicts = [compare_results("detection", ref[p], m.predict(str(p), conf=CONF, iou=NMS)) for p in photos]
            n = sum(len(ref[p].detections) for p in photos)
            checks[label] = ("same" if all(v.same for v in verdicts) else
                             "DIFFER: " + next(v.summary for v in verdicts if not v.same)) + f" ({n} boxes on {len(photos)} photos)"
    del rgb
    return {"network_ms": fwd, "e2e_ms": e2e, "detections_vs_torch_fp32": checks, "image": image.name}


# ---------------------------------------------------------------------------------------------- classic CNNs
def torchvision_twin(model: Any) -> torch.nn.Module:
    """torchvision's own builder with the zoo model's weights (the zoo's Classifier wraps a torchvision net)."""
    import torchvision

    arch = model.spec.arch if getattr(model.spec, "arch", None) else model.spec.name
    kwargs = {"aux_logits": False, "init_weights": False} if arch == "googlenet" else {}
    tv = getattr(torchvision.models, arch)(weights=None, **kwargs)
    missing, unexpected = tv.load_state_dict(model.net.state_dict(), strict=False)
    if missing:
        raise RuntimeError(f"{arch}: torchvision twin misses {missing[:3]}")
    if arch == "googlenet":
        tv.transform_input = getattr(model.net, "transform_input", False)
    return tv.eval()


def classic(name: str, args: argparse.Namespace, photos: list[Path]) -> dict[str, Any]:
    model = load_for_bench(name, "auto", CPU).eval()
    print(f"  {name} ({model.weights_source}):", flush=True)
    tv = torchvision_twin(model)
    models = load_backends(model, args.threads)
    x = torch.rand(1, 3, 224, 224)
    with torch.inference_mode():
        same = float((tv(x) - model(x)).abs().max())
        if same > 1e-4:
            raise RuntimeError(f"{name}: the torchvision twin differs from the zoo model by {same}")
        steps: dict[str, Callable[[], Any]] = {"torchvision eager": lambda: tv(x)}
        for label, m in models.items():
            steps[label] = lambda m=m: m(x)
        p50 = interleaved(steps, args.rounds, args.iters, args.warmup)
        batch, _ = model.preprocess([str(p) for p in photos])
        ref_top1 = tv(batch).argmax(1).tolist()
        top1 = {label: m(batch).argmax(1).tolist() == ref_top1 for label, m in models.items()}
    return {"weights": model.weights_source, "p50_ms": p50, "top1_unchanged": top1}


# ---------------------------------------------------------------------------------------------- report
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=4, help="timed calls per contender per round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--classic", default=",".join(CLASSIC))
    ap.add_argument("--image", type=Path, default=DATA / "images" / "grace_hopper.jpg")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not (DATA / "yolov3-tiny.weights").is_file():
        sys.exit(f"error: the real yolov3-tiny files are not at {DATA}")
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    photos = sorted((DATA / "images").iterdir())
    load = os.getloadavg()[0]
    print(f"CPU {args.threads} threads for torch, OpenCV {cv2.__version__}, onnxruntime and OpenVINO; torch "
          f"{torch.__version__}; load average {load:.1f} on {os.cpu_count()} CPUs when the run started; "
          f"{args.rounds} interleaved rounds x {args.iters} calls", flush=True)
    y = yolo(args, photos)
    c = {name: classic(name, args, photos) for name in args.classic.split(",") if name}

    print("\nyolov3-tiny 416, batch 1, p50 ms (speed-up = OpenCV / contender; > 1: faster than OpenCV DNN)")
    print(f"{'':<18}{'network':>18}{'end to end':>18}   detections vs torch fp32")
    base_n, base_e = y["network_ms"]["opencv dnn"], y["e2e_ms"]["opencv dnn"]
    for label in y["network_ms"]:
        n, e = y["network_ms"][label], y["e2e_ms"][label]
        print(f"{label:<18}{n:9.1f} ({base_n / n:4.2f}x){e:9.1f} ({base_e / e:4.2f}x)   "
              f"{y['detections_vs_torch_fp32'].get(label, 'reference')}")
    fp32 = {k: base_n / v for k, v in y["network_ms"].items() if k.endswith("fp32") and k != "torch fp32"}
    e2e = {k: base_e / v for k, v in y["e2e_ms"].items() if k.endswith("fp32") and k != "torch fp32"}
    best = {k: base_n / v for k, v in y["network_ms"].items()
            if k != "opencv dnn" and y["detections_vs_torch_fp32"][k].startswith("same")}
    results = {"yolo_fp32": max(fp32.values()), "yolo_e2e": max(e2e.values()),
               "yolo_best": max(best.values()) if best else float("nan")}
    if "openvino bf16" in y["network_ms"]:
        print(f"openvino bf16: {base_n / y['network_ms']['openvino bf16']:.2f}x OpenCV's network time; detections "
              f"{y['detections_vs_torch_fp32']['openvino bf16']}")

    print("\nclassic CNNs 224, batch 1, p50 ms (speed-up = torchvision eager / contender)")
    labels = [k for k in next(iter(c.values()))["p50_ms"]] if c else []
    print(f"{'':<13}" + "".join(f"{lab:>22}" for lab in labels) + "   top-1 unchanged (4 photos)")
    for name, r in c.items():
        base = r["p50_ms"]["torchvision eager"]
        print(f"{name:<13}" + "".join(f"{r['p50_ms'][lab]:9.1f} ({base / r['p50_ms'][lab]:5.2f}x)".rjust(22)
                                      for lab in labels)
              + "   " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in r["top1_unchanged"].items()))
    if c:
        per_backend = {lab: geomean([r["p50_ms"]["torchvision eager"] / r["p50_ms"][lab] for r in c.values()])
                       for lab in labels if lab != "torchvision eager"}
        print("geomean speed-up: " + ", ".join(f"{k} {v:.2f}x" for k, v in per_backend.items()))
        results["classic_fp32"] = max(v for k, v in per_backend.items() if k.endswith("fp32"))
        bests = []
        for r in c.values():
            ok = [lab for lab, same in r["top1_unchanged"].items() if same]
            bests.append(max(r["p50_ms"]["torchvision eager"] / r["p50_ms"][lab] for lab in ok))
        results["classic_best"] = geomean(bests)

    print("\ngoals (issue 15)")
    names = {"yolo_fp32": "yolov3-tiny network fp32 vs OpenCV DNN (best backend)",
             "yolo_e2e": "yolov3-tiny end to end fp32 vs OpenCV DNN (best backend)",
             "yolo_best": "yolov3-tiny fastest with detections unchanged (any precision)",
             "classic_fp32": "classic geomean fp32 vs torchvision eager (best backend)",
             "classic_best": "classic geomean fastest with top-1 unchanged (any precision)"}
    for key, value in results.items():
        print(f"  {names[key]:<58} {value:5.2f}x  goal >= {GOALS[key]:.1f}x  {'met' if value >= GOALS[key] else 'NOT met'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"threads": args.threads, "load_average": load, "yolov3-tiny": y, "classic": c,
                       "results": results, "goals": GOALS}, fh, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
