"""CornerNet's corner pools: the zoo's cummax pools against the reference's loop semantics, and the pools'
share of a full forward pass, on CPU.

    .venv/bin/python benchmarks/cornernet_pools.py [--models cornernet-hourglass104,cornernet-squeeze]
        [--sizes 511,255] [--rounds 5] [--threads 2] [--backward] [--json out.json]

1. Pools alone, on the tensor the pools see in each model at each input size ([1, 128, H/s, W/s], ReLU'd
   random values, like the branch convolutions' outputs): the four directions, each as
   `zoo_cornernet.pools.corner_pool` (one torch.cummax over the flipped tensor) and as `loop_corner_pool`
   (a row-by-row port of the reference's C++ loops: one `max` per row or column, what the CUDA/C++
   extension does). With --backward, forward + backward of both. Interleaved rounds; p50 per call;
   speed-up = loop p50 / cummax p50.
2. Share of forward time: one forward of the model (random weights, batch 1, inference mode) with
   `torch.profiler` on; the self CPU time of the ops called inside the DirectionalPool modules (recorded
   with record_function) over the total. The same with the loop pools swapped in shows what the reference's
   semantics cost when run as loops in PyTorch.

Timings on a shared machine include other processes' load: rounds are interleaved so it hits both alike.
With more processes than cores, run with OMP_WAIT_POLICY=PASSIVE and --threads 1 (spinning OpenMP workers
otherwise make 2-thread timings several times slower and far noisier).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import zoo
from zoo_cornernet.pools import DIRECTIONS, DirectionalPool, corner_pool, loop_corner_pool


def _time(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def pool_speed(shape: tuple[int, ...], rounds: int, backward: bool) -> dict[str, float]:
    x = torch.relu(torch.randn(shape))
    impls = {"cummax": corner_pool, "loop": loop_corner_pool}

    def call(impl: Callable[[torch.Tensor, str], torch.Tensor]) -> None:
        for d in DIRECTIONS:
            if backward:
                t = x.clone().requires_grad_()
                impl(t, d).sum().backward()
            else:
                with torch.inference_mode():
                    impl(x, d)

    samples: dict[str, list[float]] = {k: [] for k in impls}
    for name in impls:  # warm-up
        call(impls[name])
    for r in range(rounds):
        order = list(impls) if r % 2 == 0 else list(impls)[::-1]
        for name in order:
            samples[name].append(_time(lambda n=name: call(impls[n])))
    p50 = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
    return {"cummax_ms": p50["cummax"], "loop_ms": p50["loop"], "speedup": p50["loop"] / p50["cummax"]}


def pool_share(model: Any, size: int, impl: Callable[[torch.Tensor, str], torch.Tensor]) -> dict[str, float]:
    """(pool ms, forward ms, share) from one profiled forward, the pools computed by `impl`."""
    from torch.profiler import ProfilerActivity, profile, record_function

    for m in model.net.modules():
        if isinstance(m, DirectionalPool):
            def fwd(x: torch.Tensor, d: str = m.direction) -> torch.Tensor:
                with record_function("corner_pool"):
                    return impl(x, d)

            m.forward = fwd  # type: ignore[method-assign]
    x = torch.randn(1, 3, size, size)
    with torch.inference_mode():
        model(x)  # warm-up
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t = time.perf_counter()
            model(x)
            total = time.perf_counter() - t
    pool = sum(e.cpu_time_total for e in prof.key_averages() if e.key == "corner_pool") / 1e6
    return {"pool_ms": pool * 1e3, "forward_ms": total * 1e3, "share": pool / total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="cornernet-hourglass104,cornernet-squeeze")
    ap.add_argument("--sizes", default="511,255")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--backward", action="store_true", help="time forward + backward of the pools")
    ap.add_argument("--no-share", action="store_true", help="skip the profiled full forward passes")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out: list[dict[str, Any]] = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in args.models.split(","):
        model = zoo.build(name).eval() if not args.no_share else None
        stride = 4 if "hourglass" in name else 8
        for size in (int(s) for s in args.sizes.split(",")):
            side = (size + 1) // stride
            row: dict[str, Any] = {"model": name, "size": size, "pool_input": [1, 128, side, side]}
            row.update(pool_speed((1, 128, side, side), args.rounds, args.backward))
            if model is not None:
                for label, impl in (("vectorised", corner_pool), ("loop", loop_corner_pool)):
                    row.update({f"{label}_{k}": v for k, v in pool_share(model, size, impl).items()})
            out.append(row)
            line = (f"{name:24s} {size:4d}  pools on {row['pool_input']}: cummax {row['cummax_ms']:8.2f} ms  "
                    f"loop {row['loop_ms']:8.2f} ms  speed-up x{row['speedup']:.1f}")
            if "vectorised_share" in row:
                line += (f" | share of forward: cummax {100 * row['vectorised_share']:.1f}% "
                         f"({row['vectorised_pool_ms']:.0f} of {row['vectorised_forward_ms']:.0f} ms), loop "
                         f"{100 * row['loop_share']:.1f}% ({row['loop_pool_ms']:.0f} of {row['loop_forward_ms']:.0f} ms)")
            print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
