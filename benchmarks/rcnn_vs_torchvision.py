"""Faster / Mask R-CNN at batch 1: the zoo model vs torchvision called directly, same weights, same process.

    .venv/bin/python benchmarks/rcnn_vs_torchvision.py [--models faster-rcnn-r50-fpn,mask-rcnn-r50-fpn]
        [--size 480x640] [--min-size 800 --max-size 1333] [--rounds 3] [--iters 2] [--threads 2] [--device cpu]

torchvision's model comes from its public builder on its pretrained code path (frozen BN, eps overrides),
with the checkpoint download replaced by the zoo model's random weights, so both compute the same thing.
Rows: `forward` = the network call on a list of [0,1] CHW tensors (what `zoo bench` times);
`end-to-end` = image array in, detections out (zoo: predict(); torchvision: to-tensor + model + score
filter). Interleaved rounds (order rotating) so load from other processes hits both alike; p50 over all
samples. A third configuration, `zoo fuse+cl`, is the zoo model with its inference flags (conv-BN folding
of the frozen BatchNorms, channels_last weights) as `zoo bench --fuse --channels-last` runs it.
ratio = torchvision p50 / zoo p50 (>= 1: the zoo is as fast or faster). Each call's process CPU
time is recorded too: on a machine shared with other jobs, wall-clock time mostly measures their load,
while CPU time (summed over this process's threads) stays close to the work done.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import torch
import torchvision.models.detection as tvd
from torchvision.models._api import WeightsEnum

import zoo
from zoo.bench.protocol import warm_up
from zoo_rcnn.tv import TORCHVISION_BUILDERS


def torchvision_direct(name: str, state: dict[str, torch.Tensor], **kwargs: Any) -> torch.nn.Module:
    builder, enum_name = TORCHVISION_BUILDERS[name]
    original = WeightsEnum.get_state_dict
    WeightsEnum.get_state_dict = lambda self, *a, **k: dict(state)  # type: ignore[method-assign]
    try:
        return getattr(tvd, builder)(weights=getattr(tvd, enum_name).COCO_V1, **kwargs).eval()
    finally:
        WeightsEnum.get_state_dict = original  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="faster-rcnn-r50-fpn,mask-rcnn-r50-fpn")
    ap.add_argument("--size", default="480x640", help="HxW of the input image (resized by the model to 800 short side)")
    ap.add_argument("--min-size", type=int, default=800, help="the models' resize: shorter side (torchvision: 800)")
    ap.add_argument("--max-size", type=int, default=1333, help="the models' resize: longer side at most (1333)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=2, help="timed calls per configuration per round")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    h, w = (int(v) for v in args.size.split("x"))
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    tensor = torch.from_numpy(image).permute(2, 0, 1).float().div(255).to(dev)
    print(f"torch {torch.__version__}, {args.threads} threads, device {dev}, image {h}x{w}, batch 1, "
          f"resized to shorter side {args.min_size} (max {args.max_size}), {args.rounds} rounds x {args.iters} iters")
    print(f"{'model':<22} {'row':<11} {'zoo p50 ms':>11} {'tv p50 ms':>10} {'ratio':>6} {'zoo cpu ms':>11} "
          f"{'tv cpu ms':>10} {'cpu ratio':>9}  same output")
    for name in args.models.split(","):
        torch.manual_seed(0)
        sizes = {"min_size": args.min_size, "max_size": args.max_size}
        ours = zoo.build(name, device=dev, **sizes)
        ref = torchvision_direct(name, {k: v.cpu() for k, v in ours.net.state_dict().items()}, **sizes).to(dev)
        with torch.inference_mode():
            a, b = ours([tensor])[0], ref([tensor])[0]
        same = all(torch.equal(a[k], b[k]) for k in b)
        from zoo.ops.fuse import fuse_conv_bn

        fast = zoo.build(name, device=dev, **sizes)
        fast.net.load_state_dict(ours.net.state_dict())
        fuse_conv_bn(fast, [tensor])
        fast = fast.to(memory_format=torch.channels_last)
        with torch.inference_mode():
            c = fast([tensor])[0]
        fast_diff = (c["boxes"][:10] - b["boxes"][:10]).abs().max().item() if len(c["boxes"]) and len(b["boxes"]) else 0.0

        def tv_e2e(ref: Any = ref) -> Any:
            t = torch.from_numpy(image).permute(2, 0, 1).float().div(255).to(dev)
            out = ref([t])[0]
            keep = out["scores"] >= 0.5
            return {k: v[keep] for k, v in out.items()}

        steps = {
            ("forward", "zoo"): lambda ours=ours: ours([tensor]),
            ("forward", "tv"): lambda ref=ref: ref([tensor]),
            ("forward", "fast"): lambda fast=fast: fast([tensor]),
            ("end-to-end", "zoo"): lambda ours=ours: ours.predict(image, conf=0.5),
            ("end-to-end", "tv"): tv_e2e,
        }
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {k: [] for k in steps}
        with torch.inference_mode():
            for fn in steps.values():
                warm_up(fn, 1, dev)
            keys = list(steps)
            for r in range(args.rounds):
                for k in keys[r % len(keys):] + keys[: r % len(keys)]:
                    for _ in range(args.iters):
                        w0, c0 = time.perf_counter(), time.process_time()
                        steps[k]()
                        if dev.type == "cuda":
                            torch.cuda.synchronize(dev)
                        samples[k].append((time.perf_counter() - w0, time.process_time() - c0))
        for row in ("forward", "end-to-end"):
            z, t = (statistics.median(w for w, _ in samples[(row, who)]) * 1e3 for who in ("zoo", "tv"))
            zc, tc = (statistics.median(c for _, c in samples[(row, who)]) * 1e3 for who in ("zoo", "tv"))
            print(f"{name:<22} {row:<11} {z:>11.1f} {t:>10.1f} {t / z:>6.3f} {zc:>11.1f} {tc:>10.1f} {tc / zc:>9.3f}"
                  f"  {'yes' if same else 'NO'}")
        f, t = (statistics.median(w for w, _ in samples[("forward", who)]) * 1e3 for who in ("fast", "tv"))
        fc, tc = (statistics.median(c for _, c in samples[("forward", who)]) * 1e3 for who in ("fast", "tv"))
        print(f"{name:<22} {'fwd fuse+cl':<11} {f:>11.1f} {t:>10.1f} {t / f:>6.3f} {fc:>11.1f} {tc:>10.1f} {tc / fc:>9.3f}"
              f"  max box diff {fast_diff:.2e} px (top 10)")


if __name__ == "__main__":
    main()
