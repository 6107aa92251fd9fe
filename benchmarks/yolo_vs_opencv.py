"""YOLO end-to-end latency per image on CPU: the zoo against OpenCV's DNN module, in one run, as a ratio.

    .venv/bin/python benchmarks/yolo_vs_opencv.py [--models yolov3-tiny,yolov3] [--size 416] [--threads 2]
        [--rounds 5] [--iters 4] [--configs ...] [--no-compile] [--image PATH] [--json out.json]

End to end = pre-processing (resize to 416x416 with stretch, as blobFromImage does, scale 1/255) +
forward + decoding + class-wise NMS at 0.45, from a decoded uint8 image in memory to the final list of
boxes (the zoo gets the image as RGB, OpenCV as BGR with swapRB). Both sides use the same weights:
yolov3-tiny the real Darknet file from ../shared/data when present; yolov3 random weights written to a
temporary .weights file that OpenCV reads, with batch-norm statistics like a trained network's and the
objectness bias of the three output convolutions set to -4, so that (like a trained network) only a
handful of rows pass the 0.25 threshold; otherwise NMS over ~10k random boxes would dominate both sides.

Zoo configurations are prepared by the benchmark harness (zoo.bench.prepare.prepare): conv-BN folding,
channels_last, torch.compile; "freeze" is torch.compile with inductor's freezing option (weights become
constants: prepacked for oneDNN, convolution + activation fused), which only inference allows. All configurations and OpenCV are timed in interleaved rounds (the order
rotates every round) so load from other processes on a shared machine hits all of them alike; p50 over
all samples. ratio = zoo p50 / OpenCV p50 (< 1: the zoo is faster). The check column compares each
configuration's detections with OpenCV's (same classes, scores within 0.02).

On a machine shared with other busy processes, run with OMP_WAIT_POLICY=PASSIVE: torch's OpenMP
workers otherwise spin while descheduled, and with 2 threads on 2 busy cores the zoo measured 3-10x
slower than with 1 thread (OpenCV's own thread pool does not suffer from this).
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

import cv2
import numpy as np
import torch

import zoo
from zoo.bench.config import BenchConfig
from zoo.bench.prepare import prepare, to_channels_last
from zoo.bench.protocol import time_calls, time_first_call, warm_up
from zoo_yolo.convert import write_weights
from zoo_yolo.models import cfg_path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CONF, NMS = 0.25, 0.45
CPU = torch.device("cpu")

# label -> (channels_last, fuse, compile: None | "default" | "freezing", bf16 autocast)
CONFIGS: dict[str, tuple[bool, bool, str | None, bool]] = {
    "zoo eager": (False, False, None, False),
    "channels_last": (True, False, None, False),
    "fuse": (False, True, None, False),
    "cl+fuse": (True, True, None, False),
    "compile+cl+fuse": (True, True, "default", False),
    "freeze+cl+fuse": (True, True, "freezing", False),  # inductor freezing: weight prepacking, conv+activation fusion
    "cl+fuse+bf16": (True, True, None, True),  # lossy: bfloat16 convolutions (see the detections column)
}
OPENCV = "opencv dnn"
OPENCV_DIRECT = "opencv no-winograd"  # the same net with Winograd 3x3 kernels off: direct convolution, like torch's


def trained_like(model: Any, seed: int = 0) -> None:
    """Give random weights BN statistics like a trained net's, and a low objectness bias on the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) * 0.4 + 0.8)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
        layers = list(model.net.layers)
        for i, layer in enumerate(layers):
            if type(layer).__name__ == "YoloLayer":
                conv = layers[i - 1].conv
                k = 5 + layer.num_classes
                for a in range(len(layer.anchors)):
                    conv.bias[a * k + 4] = -4.0


def opencv_pipeline(net: cv2.dnn.Net, names: list[str], bgr: np.ndarray, size: int) -> list[tuple[int, float, list[float]]]:
    """blobFromImage -> forward -> rows above CONF -> class-wise NMSBoxes, boxes in image pixels."""
    h, w = bgr.shape[:2]
    blob = cv2.dnn.blobFromImage(bgr, 1 / 255.0, (size, size), swapRB=True, crop=False)
    net.setInput(blob)
    rows = np.concatenate(net.forward(names))
    rows = rows[rows[:, 4] > CONF]
    out = []
    if not len(rows):
        return out
    scores = rows[:, 5:]
    boxes = np.stack([(rows[:, 0] - rows[:, 2] / 2) * w, (rows[:, 1] - rows[:, 3] / 2) * h, rows[:, 2] * w,
                      rows[:, 3] * h], 1)
    for c in np.unique(np.nonzero(scores > CONF)[1]):
        sel = np.nonzero(scores[:, c] > CONF)[0]
        keep = cv2.dnn.NMSBoxes(boxes[sel].tolist(), scores[sel, c].tolist(), CONF, NMS)
        out += [(int(c), float(scores[sel[k], c]), boxes[sel[k]].tolist()) for k in np.array(keep).reshape(-1)]
    return out


def zoo_pipeline(model: Any, runner: Callable[..., Any], rgb: np.ndarray, size: int, cl: bool, bf16: bool) -> Any:
    """What model.predict does, with the prepared (fused / channels_last / compiled) forward in the middle."""
    with torch.inference_mode():
        batch, metas = model.preprocess(rgb, resize="stretch", size=size)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            raw = runner(to_channels_last(batch, cl))
        return model.postprocess(raw.float(), metas, conf=CONF, iou=NMS)[0]


def same_detections(mine: Any, ref: list[tuple[int, float, list[float]]]) -> str:
    dets = [(c, sc) for c, sc, _ in mine] if isinstance(mine, list) else [(d.class_id, d.score) for d in mine.detections]
    a = sorted(dets)
    b = sorted((c, s) for c, s, _ in ref)
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} boxes"
    ok = all(x[0] == y[0] and abs(x[1] - y[1]) <= 0.02 for x, y in zip(a, b))
    return f"ok ({len(a)} boxes)" if ok else "differs"


def bench_model(name: str, args: argparse.Namespace, image: Path, tmp: Path) -> dict[str, Any]:
    bgr = cv2.imread(str(image))
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    real = name == "yolov3-tiny" and (DATA / "yolov3-tiny.weights").is_file()
    if real:
        weights = DATA / "yolov3-tiny.weights"
        model = zoo.load(name, weights=weights)
    else:
        torch.manual_seed(0)
        model = zoo.build(name)
        trained_like(model)
        weights = tmp / f"{name}.weights"
        write_weights(weights, model.net)
    net = cv2.dnn.readNetFromDarknet(str(cfg_path(model.spec)), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    names = list(net.getUnconnectedOutLayersNames())
    direct = cv2.dnn.readNetFromDarknet(str(cfg_path(model.spec)), str(weights))
    direct.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    direct.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    direct.enableWinograd(False)
    steps: dict[str, Callable[[], Any]] = {OPENCV: lambda: opencv_pipeline(net, names, bgr, args.size),
                                           OPENCV_DIRECT: lambda: opencv_pipeline(direct, names, bgr, args.size)}
    configs = {k: v for k, v in CONFIGS.items() if k in args.configs}
    for label, (cl, fuse, compiled, bf16) in configs.items():
        cfg = BenchConfig(channels_last=cl, fuse=fuse, compile=compiled == "default", flops=False,
                          input_size=(args.size, args.size))
        prep = prepare(copy.deepcopy(model), cfg, CPU)
        runner = prep.runner
        if compiled == "freezing":
            runner = torch.compile(prep.model, dynamic=False, options={"freezing": True})
        steps[label] = (lambda p=prep, r=runner, c=cl, b=bf16: zoo_pipeline(p.model, r, rgb, args.size, c, b))
    samples: dict[str, list[float]] = {k: [] for k in steps}
    first: dict[str, float] = {}
    ref = steps[OPENCV]()
    check: dict[str, str] = {OPENCV: f"reference ({len(ref)} boxes)"}
    for label, step in steps.items():
        t = time.perf_counter()
        first[label] = time_first_call(step, CPU)
        warm_up(step, args.warmup, CPU)
        if label != OPENCV:
            check[label] = same_detections(step(), ref)
        print(f"    prepared {label:<16} first call {first[label]:7.2f} s (+ warm-up {time.perf_counter() - t - first[label]:5.2f} s)"
              f", detections {check[label]}", flush=True)
    labels = list(steps)
    for r in range(args.rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            samples[label].extend(time_calls(steps[label], CPU, iters=args.iters))
        print(f"    round {r + 1}/{args.rounds}: " + ", ".join(
            f"{lab} {statistics.median(samples[lab]) * 1e3:.1f}" for lab in labels) + " ms", flush=True)
    base = statistics.median(samples[OPENCV]) * 1e3
    return {"weights": "real Darknet file" if real else "random (trained-like BN)", "image": image.name,
            "opencv_p50_ms": base,
            "rows": {lab: {"p50_ms": statistics.median(s) * 1e3, "ratio_vs_opencv": statistics.median(s) * 1e3 / base,
                           "first_call_s": first[lab], "detections": check[lab],
                           "samples_ms": [x * 1e3 for x in s]} for lab, s in samples.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="yolov3-tiny,yolov3")
    ap.add_argument("--size", type=int, default=416)
    ap.add_argument("--threads", type=int, default=None, help="threads for both torch and OpenCV (default: their own)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=4, help="timed calls per configuration per round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of: {', '.join(CONFIGS)}")
    ap.add_argument("--no-compile", action="store_true", help="leave out the torch.compile configurations")
    ap.add_argument("--image", type=Path, default=DATA / "images" / "grace_hopper.jpg")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    unknown = [c for c in args.configs.split(",") if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configurations {unknown} (known: {', '.join(CONFIGS)})")
    args.configs = [c for c in args.configs.split(",") if not (args.no_compile and CONFIGS[c][2])]
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    if not args.image.is_file():
        args.image = Path(tempfile.mkdtemp()) / "random.png"
        cv2.imwrite(str(args.image), np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8))
    print(f"CPU end-to-end per image @ {args.size} (stretch), torch {torch.__version__} with {torch.get_num_threads()} "
          f"threads, OpenCV {cv2.__version__} with {cv2.getNumThreads()} threads, {args.rounds} interleaved rounds x "
          f"{args.iters} calls", flush=True)
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            print(f"  {name}:", flush=True)
            summary[name] = bench_model(name, args, args.image, Path(tmp))
            torch.compiler.reset()
    labels = [OPENCV, OPENCV_DIRECT, *args.configs]
    print("\np50 ms per image, end to end (ratio zoo / OpenCV; < 1 means the zoo is faster)")
    print(f"{'':<13}" + "".join(f"{lab:>22}" for lab in labels))
    for name, s in summary.items():
        print(f"{name:<13}" + "".join(f"{s['rows'][lab]['p50_ms']:9.1f} ({s['rows'][lab]['ratio_vs_opencv']:5.2f}x)"
                                      .rjust(22) for lab in labels))
    for name, s in summary.items():
        zoo_rows = {k: v for k, v in s["rows"].items() if k in CONFIGS and not CONFIGS[k][3]}  # fp32 only
        best = min(zoo_rows, key=lambda k: zoo_rows[k]["p50_ms"])
        print(f"{name} ({s['weights']}): zoo eager / OpenCV = {zoo_rows['zoo eager']['ratio_vs_opencv']:.2f}"
              if "zoo eager" in zoo_rows else f"{name}:",
              f"; best fp32 zoo configuration: {best} at {zoo_rows[best]['ratio_vs_opencv']:.2f}x OpenCV's time")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"torch": torch.__version__, "opencv": cv2.__version__, "threads": torch.get_num_threads(),
                       "size": args.size, "models": summary}, fh, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
