"""MTCNN detection time per image: the zoo against facenet-pytorch 2.6.0, same weights, in one run.

    .venv/bin/python benchmarks/mtcnn_vs_reference.py [--threads 2] [--rounds 7] [--iters 3]
        [--device cpu|cuda] [--images PATH ...] [--json out.json]

Both sides start from the decoded image in memory (facenet-pytorch from the PIL image, as its detect()
takes it; the zoo from the RGB array) and end with boxes, probabilities and 5 landmarks per face:
`MTCNN(keep_all=True).detect(img, landmarks=True)` against `model.predict(array)`. Weights: the
pnet/rnet/onet.pt files of the installed facenet-pytorch wheel, through the zoo's converter.
Images are timed in interleaved rounds (zoo and reference alternate, the order flips every round) so
load from other processes hits both alike; p50 over all samples. speed-up = reference p50 / zoo p50.
The process CPU time per call (time.process_time) is reported too: with --threads 1 it is the work done,
which load from other processes inflates far less than wall time.
The check column says whether the faces agree (same count, box IoU >= 0.95, probabilities within 1e-3,
landmarks within 1 px). On a shared machine run with OMP_WAIT_POLICY=PASSIVE.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

import zoo
from zoo_faces.convert import read_mtcnn_folder

ROOT = Path(__file__).resolve().parents[1]
IMAGES = Path(os.environ.get("ZOO_TEST_DATA", ROOT.parent / "shared" / "data")) / "images"


def same_faces(result: Any, ref: tuple[Any, Any, Any]) -> str:
    from torchvision.ops import box_iou

    boxes, probs, points = ref
    dets = result.detections
    if boxes is None:
        return "same (none)" if not dets else f"DIFFER: {len(dets)} vs none"
    if len(dets) != len(boxes):
        return f"DIFFER: {len(dets)} vs {len(boxes)} faces"
    iou = box_iou(torch.tensor([d.box for d in dets]), torch.as_tensor(np.asarray(boxes, dtype=np.float32)))
    j = iou.argmax(1).tolist()
    ok = all(iou[i, j[i]] >= 0.95 and abs(d.score - float(probs[j[i]])) < 1e-3
             and np.abs(np.asarray(d.landmarks) - np.asarray(points[j[i]])).max() < 1 for i, d in enumerate(dets))
    return f"same ({len(dets)})" if ok and len(set(j)) == len(j) else "DIFFER"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=3, help="calls per side per round")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--images", nargs="*", type=Path,
                    default=[IMAGES / n for n in ("grace_hopper.jpg", "astronaut.png", "chelsea.png", "coffee.png")])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import facenet_pytorch

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    ref = facenet_pytorch.MTCNN(keep_all=True, device=device)
    model = zoo.build("mtcnn")
    model.net.load_state_dict(read_mtcnn_folder(Path(facenet_pytorch.__file__).parent / "data", model.spec))
    model = model.to(device).eval()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def run_zoo(arr: np.ndarray) -> Any:
        out = model.predict(arr)
        sync()
        return out

    def run_ref(pil: Image.Image) -> Any:
        out = ref.detect(pil, landmarks=True)
        sync()
        return out

    rows = []
    for path in args.images:
        pil = Image.open(path).convert("RGB")
        arr = np.asarray(pil)
        check = same_faces(run_zoo(arr), run_ref(pil))
        for _ in range(2):  # warm-up
            run_zoo(arr)
            run_ref(pil)
        times: dict[str, list[float]] = {"zoo": [], "facenet-pytorch": []}
        cpu: dict[str, list[float]] = {"zoo": [], "facenet-pytorch": []}
        for r in range(args.rounds):
            order = [("zoo", run_zoo, arr), ("facenet-pytorch", run_ref, pil)]
            for name, fn, x in order if r % 2 == 0 else order[::-1]:
                for _ in range(args.iters):
                    t, c = time.perf_counter(), time.process_time()
                    fn(x)
                    times[name].append(time.perf_counter() - t)
                    cpu[name].append(time.process_time() - c)
        z, f = (statistics.median(times[k]) * 1e3 for k in ("zoo", "facenet-pytorch"))
        zc, fc = (statistics.median(cpu[k]) * 1e3 for k in ("zoo", "facenet-pytorch"))
        rows.append({"image": path.name, "size": f"{arr.shape[1]}x{arr.shape[0]}", "zoo_ms": round(z, 2),
                     "facenet_pytorch_ms": round(f, 2), "speedup": round(f / z, 2), "zoo_cpu_ms": round(zc, 2),
                     "facenet_pytorch_cpu_ms": round(fc, 2), "cpu_speedup": round(fc / zc, 2), "check": check})

    print(f"MTCNN per-image detection, p50 of {args.rounds} interleaved rounds x {args.iters}; "
          f"device {device}, torch {torch.__version__}, {args.threads} threads")
    print(f"{'image':<18}{'size':>10}{'zoo ms':>10}{'facenet ms':>12}{'speed-up':>10}"
          f"{'zoo cpu ms':>12}{'facenet cpu':>13}{'cpu ratio':>11}  faces")
    for r in rows:
        print(f"{r['image']:<18}{r['size']:>10}{r['zoo_ms']:>10.1f}{r['facenet_pytorch_ms']:>12.1f}"
              f"{r['speedup']:>9.2f}x{r['zoo_cpu_ms']:>12.1f}{r['facenet_pytorch_cpu_ms']:>13.1f}"
              f"{r['cpu_speedup']:>10.2f}x  {r['check']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
