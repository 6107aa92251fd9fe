"""What verified loads cost: `zoo.load(NAME)` with ZOO_VERIFY=never, with a cold check (no stamp: the whole
file is hashed) and a warm one (the (size, mtime_ns, inode) stamp matches: no hash), and the check alone.
Weights are random values of the model's shapes stored in a temporary cache (the check does not care what
the numbers are). Medians (and minima) over rounds whose order rotates; the OS page cache is warm in every case (the file was
just written), so "cold" is the hashing cost, not the disk's.

    .venv/bin/python benchmarks/verify_cost.py [--models resnet50 vgg16] [--rounds 5]
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
    ap.add_argument("--models", nargs="+", default=["resnet50", "vgg16"])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zoo-verify-bench-"))
    os.environ["ZOO_HOME"] = str(tmp)
    os.environ["ZOO_OFFLINE"] = "1"

    import torch

    import zoo
    from zoo import cache
    from zoo.api import build

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; command: {' '.join(os.sys.argv)}")
    for name in args.models:
        spec = zoo.get_spec(name)
        w = spec.default_weights()
        shapes = {k: v for k, v in build(spec, device="meta").net.state_dict().items()}
        state = {k: (torch.randn(v.shape) if v.is_floating_point() else torch.zeros(v.shape, dtype=v.dtype))
                 for k, v in shapes.items()}
        path, _ = cache.store(name, w.tag, state, origin="import", original="random", original_format="safetensors",
                              original_sha256="0" * 64, pinned_by="local")
        del state
        stamp = path.parent / cache.STAMP_FILE
        times: dict[str, list[float]] = {k: [] for k in ("check cold", "check warm", "load never", "load cold",
                                                         "load warm")}
        zoo.load(name)  # first load: imports and allocator warm-up stay out of the rounds
        order = [("load never", "never", False), ("load cold", "auto", True), ("load warm", "auto", False)]
        for r in range(args.rounds):
            stamp.unlink(missing_ok=True)
            t0 = time.perf_counter()
            cache.check_cached(path, name, w.tag)
            t1 = time.perf_counter()
            cache.check_cached(path, name, w.tag)
            t2 = time.perf_counter()
            times["check cold"].append(t1 - t0)
            times["check warm"].append(t2 - t1)
            for label, mode, drop in order[r % 3:] + order[: r % 3]:  # rotated: no case always goes first
                os.environ["ZOO_VERIFY"] = mode
                if drop:
                    stamp.unlink(missing_ok=True)
                else:
                    cache.check_cached(path, name, w.tag)  # warm: the stamp is current
                t0 = time.perf_counter()
                zoo.load(name)
                times[label].append(time.perf_counter() - t0)
            os.environ.pop("ZOO_VERIFY")
        size = path.stat().st_size / 1e6
        med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
        low = {k: 1e3 * min(v) for k, v in times.items()}
        print(f"{name} ({size:.0f} MB), median (min) of {args.rounds}: check cold {med['check cold']:.1f} "
              f"({low['check cold']:.1f}) ms, warm {med['check warm']:.2f} ({low['check warm']:.2f}) ms; zoo.load: "
              f"never {med['load never']:.0f} ({low['load never']:.0f}) ms, cold {med['load cold']:.0f} "
              f"({low['load cold']:.0f}) ms, warm {med['load warm']:.0f} ({low['load warm']:.0f}) ms")
        cache.cache_remove(name, w.tag)


if __name__ == "__main__":
    main()
