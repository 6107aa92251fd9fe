"""Pre- and post-processing: the previous per-image host path against the batched device pipeline, one run.

    .venv/bin/python benchmarks/device_pipeline.py [--device cpu|cuda] [--batch-sizes 1,8,32] [--rounds 5]
        [--iters 5] [--threads N] [--json out.json]

Per model (yolov3-tiny: letterbox 416; resnet50: resize 256 + centre crop 224) and batch size, from JPEG files
on disk to the normalised batch on the model's device ("pre"), and for yolov3-tiny from the network's raw rows
to detections on the host ("post", real weights from ../shared/data when present, else random weights with
objectness biased down like a trained net's):

  old  the previous path: PIL decode per file, zoo.ops.resize per image on the host (float), torch.cat,
       normalise, one float copy to the device; postprocess image by image (class-wise NMS per image, each
       image's boxes copied to the host)
  new  ZooModel.preprocess / postprocess: uint8 to the device (JPEGs decoded by nvJPEG on CUDA), batched
       resize + normalise there, one batched_nms and one host transfer for the batch

The photos are the shared images resized to 640x480, 480x640, 800x600 and 500x375 (JPEG quality 90), so the
batch has several sizes, as a folder of photos does. Both sides run in interleaved rounds (order rotating), p50
over all samples; ratio = new / old (< 1: the device pipeline is faster). The check column compares the two
sides' outputs (pre: max |difference| of the batches in normalised units; post: detections equal).

On a machine shared with other busy processes, run with OMP_WAIT_POLICY=PASSIVE (see yolo_vs_opencv.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

import zoo
from zoo.images import load_image
from zoo.ops.boxes import classwise_nms, cxcywh_to_xyxy
from zoo.ops.resize import boxes_to_original, letterbox, resize_crop, stretch
from zoo.tasks.detection import make_result

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZES = [(640, 480), (480, 640), (800, 600), (500, 375)]  # (width, height) of the photos


def photos(folder: Path, n: int) -> list[Path]:
    sources = sorted((SHARED / "images").glob("*")) if (SHARED / "images").is_dir() else []
    gen = np.random.default_rng(0)
    out = []
    for i in range(n):
        w, h = SIZES[i % len(SIZES)]
        if sources:
            im = cv2.resize(cv2.imread(str(sources[i % len(sources)])), (w, h))
        else:  # smooth random content when the shared photos are absent
            im = cv2.resize(gen.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8), (w, h))
        p = folder / f"{i:03d}.jpg"
        cv2.imwrite(str(p), im, [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append(p)
    return out


def old_preprocess(model: Any, paths: list[Path]) -> torch.Tensor:
    inp, hw = model.spec.input, model.input_size
    outs = []
    for p in paths:
        arr = load_image(p)
        if inp.resize == "letterbox":
            t, _ = letterbox(arr, hw, fill=0.5 / inp.scale)
        elif inp.resize == "stretch":
            t, _ = stretch(arr, hw)
        else:
            ratio = (inp.resize_size / inp.size[0]) if inp.resize_size else 1 / 0.875
            t, _ = resize_crop(arr, hw, int(round(hw[0] * ratio)))
        outs.append(t)
    batch = torch.cat(outs) * inp.scale
    if inp.mean is not None and inp.std is not None:
        batch = (batch - torch.tensor(inp.mean).view(1, -1, 1, 1)) / torch.tensor(inp.std).view(1, -1, 1, 1)
    return batch.to(model.device)


def old_postprocess(raw: torch.Tensor, metas: list[Any], conf: float = 0.25, iou: float = 0.45,
                    results: bool = False) -> list[Any]:
    """The previous YoloDetector.postprocess; `results`: build the DetectionResults as it did (timed), else
    return [K, 6] tensors (compared)."""
    out: list[Any] = []
    for rows, meta in zip(raw, metas):
        rows = rows[rows[:, 4] > conf].float()
        scores = rows[:, 5:]
        idx, cls = (scores > conf).nonzero(as_tuple=True)
        boxes = cxcywh_to_xyxy(rows[idx, :4])
        s = scores[idx, cls]
        keep = classwise_nms(boxes, s, cls, iou, 300, 30_000)
        if results:
            out.append(make_result(boxes_to_original(boxes[keep].cpu(), meta), s[keep].cpu(), cls[keep].cpu(),
                                   "coco80", meta.source, meta.orig_size))
            continue
        out.append(torch.cat([boxes_to_original(boxes[keep].cpu(), meta), s[keep, None].cpu(),
                              cls[keep, None].float().cpu()], 1))
    return out


def new_postprocess(model: Any, raw: torch.Tensor, metas: list[Any]) -> list[torch.Tensor]:
    return [torch.tensor([[*d.box, d.score, d.model_class_id] for d in r.detections]).reshape(-1, 6)
            for r in model.postprocess(raw, metas)]


def timed(fn: Callable[[], Any], dev: torch.device) -> float:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    fn()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return time.perf_counter() - t0


def load_model(name: str, device: str) -> Any:
    if name == "yolov3-tiny" and (SHARED / "yolov3-tiny.weights").exists():
        return zoo.load(name, weights=SHARED / "yolov3-tiny.weights", device=device)
    model = zoo.build(name).to(device).eval()
    if name.startswith("yolo"):  # like a trained net: few rows pass the threshold
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.Conv2d) and m.bias is not None and m.out_channels == 255:
                    m.bias.view(3, 85)[:, 4].fill_(-4.0)
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--models", default="yolov3-tiny,resnet50")
    ap.add_argument("--batch-sizes", default="1,8,32")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = photos(Path(tmp), max(sizes))
        for name in args.models.split(","):
            model = load_model(name, args.device)
            for bs in sizes:
                paths = files[:bs]
                with torch.inference_mode():
                    batch, metas = model.preprocess([str(p) for p in paths])
                    ref = old_preprocess(model, paths)
                    check = f"max |diff| {(batch - ref).abs().max().item():.2g}"
                    stages: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
                        "pre": (partial(old_preprocess, model, paths), partial(model.preprocess, [str(p) for p in paths]))}
                    if name.startswith("yolo"):
                        raw = model(batch)
                        same = all(a.shape == b.shape and torch.allclose(a, b, atol=1e-3)
                                   for a, b in zip(old_postprocess(raw, metas), new_postprocess(model, raw, metas)))
                        stages["post"] = (partial(old_postprocess, raw, metas, results=True),
                                          partial(model.postprocess, raw, metas))
                    for stage, (old, new) in stages.items():
                        samples: dict[str, list[float]] = {"old": [], "new": []}
                        for fn in (old, new):
                            fn()  # warm-up
                        for r in range(args.rounds):
                            order = [("old", old), ("new", new)][:: 1 if r % 2 == 0 else -1]
                            for side, fn in order:
                                samples[side].extend(timed(fn, dev) for _ in range(args.iters))
                        o, n = (statistics.median(samples[k]) * 1e3 for k in ("old", "new"))
                        row = {"model": name, "stage": stage, "batch_size": bs, "device": str(dev),
                               "old_ms": round(o, 3), "new_ms": round(n, 3), "ratio": round(n / o, 3),
                               "check": check if stage == "pre" else ("same detections" if same else "DIFFERENT")}
                        rows.append(row)
                        print(f"{name:12s} {stage:4s} bs{bs:<3d} old {o:9.2f} ms  new {n:9.2f} ms  new/old {n / o:5.2f}  "
                              f"{row['check']}", flush=True)
    env = {"torch": torch.__version__, "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "threads": torch.get_num_threads(), "command": " ".join(sys.argv)}
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
