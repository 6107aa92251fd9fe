"""Time of `zoo stylize` (Gatys et al. on VGG-19) per L-BFGS step, and the projected time of a full run.

    .venv/bin/python benchmarks/stylize_time.py [--size 512] [--steps 5] [--full 300] [--threads 2]
        [--device cpu|cuda] [--optimizer lbfgs|adam] [--content PATH] [--style PATH]

Runs `zoo_art.style.stylize` for --steps loss evaluations (one VGG-19 forward + backward each, plus the
optimizer's update), after one untimed warm-up step, and reports seconds per step and the projection to
--full steps (time scales linearly with the steps: every step does the same work). The VGG-19 weights are
the zoo's cached ImageNet ones when present, otherwise random ones: the time does not depend on them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from zoo_art.style import stylize

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "data" / "images"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--full", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"])
    ap.add_argument("--content", type=Path, default=IMAGES / "chelsea.png")
    ap.add_argument("--style", type=Path, default=IMAGES / "coffee.png")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    stylize(args.content, args.style, size=args.size, steps=1, optimizer=args.optimizer, device=args.device,
            warn=lambda m: print("note:", m.split(";")[0]))  # warm-up (and weights loading) untimed
    t = time.perf_counter()
    result = stylize(args.content, args.style, size=args.size, steps=args.steps, optimizer=args.optimizer,
                     device=args.device)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - t
    per = result.seconds / len(result.losses)
    h, w = result.image.shape[1:]
    print(f"stylize {w}x{h} on {args.device} ({torch.get_num_threads()} threads, torch {torch.__version__}), "
          f"{args.optimizer}, vgg19 {result.features}")
    print(f"{len(result.losses)} steps: {result.seconds:.2f} s ({per:.3f} s/step; {wall:.2f} s with set-up) -> "
          f"{args.full} steps ~ {per * args.full:.0f} s ({per * args.full / 60:.1f} min)")


if __name__ == "__main__":
    main()
