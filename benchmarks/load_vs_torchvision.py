"""`zoo.load("resnet50")` from the zoo cache vs `torchvision.models.resnet50(weights=...)` from torch's
cache, in one process, alternating, same weights (random values written to both caches).

    .venv/bin/python benchmarks/load_vs_torchvision.py [--model resnet50] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet50", choices=["resnet50", "resnet18", "densenet121", "vgg16"])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zoo-load-bench-"))
    os.environ["ZOO_HOME"] = str(tmp / "zoo")
    os.environ["TORCH_HOME"] = str(tmp / "torch")
    os.environ["ZOO_OFFLINE"] = "1"

    import torch
    import torchvision

    import zoo
    from zoo.api import expected_state
    from zoo.convert import import_file
    from zoo.plugin_manager import default_registry

    weights_enum = torchvision.models.get_model_weights(args.model).DEFAULT
    pth = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints" / Path(weights_enum.url).name
    pth.parent.mkdir(parents=True)
    torch.save(getattr(torchvision.models, args.model)().state_dict(), pth)  # torchvision finds it in its cache
    spec = default_registry().get(args.model)
    import_file(spec, spec.default_weights(), pth, expected=expected_state(spec))  # the same weights into the zoo cache

    def tv() -> torch.nn.Module:
        return getattr(torchvision.models, args.model)(weights=weights_enum).eval()

    def ours() -> torch.nn.Module:
        return zoo.load(args.model)

    x = torch.rand(1, 3, 224, 224)
    with torch.inference_mode():
        diff = (tv()(x) - ours()(x)).abs().max().item()
        assert diff < 1e-4, f"the two loads must give the same model (max abs diff {diff})"
    times: dict[str, list[float]] = {"torchvision": [], "zoo": []}
    for _ in range(args.rounds):
        for name, fn in (("torchvision", tv), ("zoo", ours)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    tv_s, zoo_s = statistics.median(times["torchvision"]), statistics.median(times["zoo"])
    print(f"{args.model}: load from cache, median of {args.rounds} (threads={torch.get_num_threads()})")
    print(f"  torchvision.models.{args.model}(weights=DEFAULT): {tv_s * 1000:8.1f} ms")
    print(f"  zoo.load('{args.model}'):                      {zoo_s * 1000:8.1f} ms")
    print(f"  speed-up zoo vs torchvision: {tv_s / zoo_s:.2f}x (goal >= 1.0)")


if __name__ == "__main__":
    main()
