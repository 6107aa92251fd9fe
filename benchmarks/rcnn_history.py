"""R-CNN -> Fast R-CNN -> Faster R-CNN: latency per image on CPU, measured, and the speed-up of each step.

    .venv/bin/python benchmarks/rcnn_history.py [--image ../shared/data/images/grace_hopper.jpg]
        [--proposals 2000] [--rcnn-vgg16-sample 100] [--iters 1] [--threads 2]

One image, random weights (latency does not depend on them), batch 1, same process:
  proposals        selective search (OpenCV, fast mode, longer side 500), timed without the cache
  R-CNN AlexNet    2000 warped 227x227 crops through AlexNet (the 2014 paper's network)
  R-CNN VGG16      224x224 crops through VGG16; measured on --rcnn-vgg16-sample crops and scaled to the
                   proposal count (the one extrapolated number; its per-crop cost is constant)
  Fast R-CNN VGG16 the 2015 paper's network: one VGG16 pass (600 px), RoIPool of the same proposals
  Fast R-CNN R50   ResNet-50-FPN + Faster R-CNN's box head, RoIPool of the same proposals
  Faster R-CNN R50 torchvision's Faster R-CNN (RPN: 1000 proposals after NMS), no selective search
Step speed-ups: R-CNN VGG16 -> Fast R-CNN VGG16 (share the convolutions; same backbone) and
Fast R-CNN R50 -> Faster R-CNN R50 (proposals from the RPN instead of selective search; same backbone
and box head). Per-image totals include proposals where the method needs them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import zoo
from zoo.bench.protocol import time_calls, warm_up
from zoo.images import load_image
from zoo.ops.proposals import ProposalParams, get_proposals


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default=str(Path(__file__).resolve().parents[2] / "shared/data/images/grace_hopper.jpg"))
    ap.add_argument("--proposals", type=int, default=2000)
    ap.add_argument("--rcnn-vgg16-sample", type=int, default=100)
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device("cpu")
    image = load_image(args.image)
    tensor = torch.from_numpy(image).permute(2, 0, 1).float().div(255)
    params = ProposalParams(max_proposals=args.proposals)
    ss = [time.perf_counter()]
    props = get_proposals(image, params, use_cache=False)
    ss.append(time.perf_counter())
    ss_samples = [ss[1] - ss[0]]
    for _ in range(max(0, args.iters - 1)):
        t0 = time.perf_counter()
        get_proposals(image, params, use_cache=False)
        ss_samples.append(time.perf_counter() - t0)
    boxes = torch.from_numpy(props.boxes)
    n = len(boxes)
    print(f"torch {torch.__version__}, {args.threads} threads, CPU; image {args.image} {image.shape[1]}x{image.shape[0]}; "
          f"selective search: {n} proposals in {p50(ss_samples):.2f} s")

    rows = []

    def measure(label: str, name: str, batch: object, uses_ss: bool, scale: float = 1.0, note: str = "",
                **opts: object) -> float:
        torch.manual_seed(0)
        model = zoo.build(name, **opts)
        with torch.inference_mode():
            warm_up(lambda: model(batch), 1, dev)
            net = p50(time_calls(lambda: model(batch), dev, iters=args.iters)) * scale
        total = net + (p50(ss_samples) if uses_ss else 0.0)
        rows.append((label, net, total, note))
        print(f"  measured {label}: network {net:.2f} s/image", flush=True)
        return total

    sample = boxes[: args.rcnn_vgg16_sample]
    rcnn_alex = measure("R-CNN AlexNet", "rcnn", {"images": [tensor], "proposals": [boxes]}, True,
                        note=f"{n} crops 227x227")
    rcnn_vgg = measure("R-CNN VGG16", "rcnn-vgg16", {"images": [tensor], "proposals": [sample]}, True,
                       scale=n / len(sample), note=f"{len(sample)} crops measured, x{n / len(sample):g}")
    fast_vgg = measure("Fast R-CNN VGG16", "fast-rcnn-vgg16", {"images": [tensor], "proposals": [boxes]}, True,
                       note=f"one pass at 600 px, RoIPool x{n}")
    fast_r50 = measure("Fast R-CNN R50-FPN", "fast-rcnn", {"images": [tensor], "proposals": [boxes]}, True,
                       note=f"one pass at 800 px, RoIPool x{n}")
    faster = measure("Faster R-CNN R50-FPN", "faster-rcnn-r50-fpn", [tensor], False, note="RPN, 1000 proposals")

    print()
    print(f"{'method':<22} {'network s':>9} {'total s/img':>11}  notes")
    for label, net, total, note in rows:
        print(f"{label:<22} {net:>9.2f} {total:>11.2f}  {note}{' + selective search' if label != rows[-1][0] else ''}")
    print()
    print("speed-up of each step (total per image, proposals included):")
    print(f"  R-CNN VGG16 -> Fast R-CNN VGG16 (shared convolutions): x{rcnn_vgg / fast_vgg:.1f}")
    print(f"  Fast R-CNN R50-FPN -> Faster R-CNN R50-FPN (RPN instead of selective search): x{fast_r50 / faster:.2f}")
    print(f"  R-CNN AlexNet -> Faster R-CNN R50-FPN (2014 -> 2015 systems): x{rcnn_alex / faster:.1f}")


if __name__ == "__main__":
    main()
