"""The zoo's resnet50 against torchvision's, same process, interleaved (issue 17 item 3).

    .venv/bin/python benchmarks/gpu_anchor_resnet50.py [--device cuda] [--batch-sizes 1,32] [--precision fp16]
        [--rounds 7] [--iters 30] [--json out.json]

The issue measured `zoo.build("resnet50").cuda()` at 5.63 ms and torchvision's resnet50 at 4.60 ms (bs32, fp16
autocast, H200, same process). Reading both paths: plugins/zoo_classic builds `torchvision.models.resnet50`
itself (the zoo's weights layout IS torchvision's state_dict), `zoo.build` adds one wrapper module
(`Classifier.forward` = `self.net(batch)`, no hooks), leaves every parameter contiguous, fp32, NCHW and in eval
mode, and no zoo code sets cudnn.benchmark, TF32 or any global torch switch (tests/test_gpu_flags.py). So the
networks are the same kernels; what can differ is how they are measured. This script removes those differences:

  - the contenders: torchvision's `resnet50().eval()`, `zoo.build("resnet50")` (the wrapper), its `.net` (the
    bare torchvision module the zoo holds), all moved with `.to(device)` and fed the SAME input tensor;
  - every call under the same `torch.inference_mode()` and the same `torch.autocast(device, dtype)`;
  - ABAB interleaving, in both orders (rounds alternate which contender goes first), after a warm-up of every
    contender, so GPU clocks, cuDNN heuristics' caches and the caching allocator are warm for all alike;
  - per call: CUDA-event time (GPU, synchronised) and the host time to *issue* the call without waiting
    (launch-bound check: when issue time ~ event time, the row measures the CPU's Python/dispatch speed, not
    the GPU, and small host disturbances move it by tens of percent: eager resnet50 at bs1 and bs32 fp16 on
    an H100/H200 is in that regime, which is the likely cause of the issue's 22 %);
  - with --compile MODES, torch.compile of torchvision's resnet50 in the same interleaving (the issue's goal:
    the zoo's --optimize choice >= 1.1x that; benchmarks/gpu_check.sh compares the two);
  - the structural facts printed first: parameter layouts, dtypes, requires_grad, hooks, cudnn/TF32 switches.
The p50 of every contender over all rounds and the ratio to torchvision are printed, with the command. The goal
of the issue: the zoo within 3 % of torchvision.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch


def facts(name: str, module: torch.nn.Module) -> dict[str, Any]:
    params = list(module.parameters())
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())
    return {"model": name, "params": sum(p.numel() for p in params),
            "non_contiguous": sum(not p.is_contiguous() for p in params),
            "channels_last_4d": sum(p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last)
                                    and not p.is_contiguous() for p in params),
            "dtypes": sorted({str(p.dtype) for p in params}), "requires_grad": sorted({p.requires_grad for p in params}),
            "hooks": hooks, "training": module.training}


def time_call(fn: Callable[[], Any], dev: torch.device) -> tuple[float, float]:
    """(ms on the device clock, ms the host spent issuing the call) for one call."""
    if dev.type != "cuda":
        t0 = time.perf_counter()
        fn()
        ms = (time.perf_counter() - t0) * 1e3
        return ms, ms
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(dev)
    start.record()
    t0 = time.perf_counter()
    fn()
    issue = (time.perf_counter() - t0) * 1e3
    end.record()
    end.synchronize()
    return start.elapsed_time(end), issue


def make_call(m: torch.nn.Module, x: torch.Tensor, dev: torch.device, dtype: torch.dtype | None) -> Callable[[], Any]:
    """m(x), under autocast when dtype is given: the same for every contender."""
    def f() -> Any:
        if dtype is None:
            return m(x)
        with torch.autocast(dev.type, dtype=dtype):
            return m(x)
    return f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch-sizes", default="1,32")
    ap.add_argument("--precision", default="fp16", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=30, help="timed calls per contender per round")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--cudnn-benchmark", action="store_true", help="set torch.backends.cudnn.benchmark (both alike)")
    ap.add_argument("--compile", default="", help="also torch.compile(torchvision's resnet50, mode=M) for these "
                    "comma-separated modes (default, reduce-overhead, ...), at the largest batch size only")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torchvision

    import zoo

    dev = torch.device(args.device)
    if args.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    dtype = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    if dev.type == "cpu" and dtype is torch.float16:
        dtype = torch.bfloat16  # fp16 is emulated on most CPUs: a CPU dry run uses bf16
    torch.manual_seed(0)
    tv = torchvision.models.resnet50().eval().to(dev)
    ours = zoo.build("resnet50").to(dev)
    contenders: dict[str, torch.nn.Module] = {"torchvision": tv, "zoo.build": ours, "zoo.build(...).net": ours.net}
    switches = {"cudnn.benchmark": torch.backends.cudnn.benchmark, "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
                "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                "float32_matmul_precision": torch.get_float32_matmul_precision()}
    print(f"$ {' '.join(sys.argv)}")
    print(f"device {torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}, torch {torch.__version__}, "
          f"precision {args.precision} (autocast {dtype}), switches {switches}")
    for name, m in contenders.items():
        print("  ", facts(name, m))
    out: dict[str, Any] = {"argv": sys.argv, "device": str(dev), "torch": torch.__version__, "switches": switches,
                           "facts": [facts(n, m) for n, m in contenders.items()], "rows": []}
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    modes = [m for m in args.compile.split(",") if m]
    for bs in sizes:
        x = torch.rand(bs, 3, args.size, args.size, device=dev)
        calls = {n: make_call(m, x, dev, dtype) for n, m in contenders.items()}
        if bs == max(sizes):  # compiling costs about a minute per mode and shape: the largest batch only
            for mode in modes:
                compiled = torch.compile(tv, mode=None if mode == "default" else mode, dynamic=False)
                calls[f"torchvision+compile:{mode}"] = make_call(compiled, x, dev, dtype)
        gpu: dict[str, list[float]] = {n: [] for n in calls}
        issue: dict[str, list[float]] = {n: [] for n in calls}
        with torch.inference_mode():
            for n, f in calls.items():  # warm every contender before any timing (compiles the compiled ones)
                t0 = time.perf_counter()
                for _ in range(5):
                    f()
                if "compile" in n:
                    print(f"  {n}: compiled and warmed in {time.perf_counter() - t0:.1f} s")
            names = list(calls)
            for r in range(args.rounds):
                order = names if r % 2 == 0 else names[::-1]  # both orders
                for _ in range(args.iters):
                    for n in order:  # ABAB...: one call of each in turn
                        g, i = time_call(calls[n], dev)
                        gpu[n].append(g)
                        issue[n].append(i)
        base = statistics.median(gpu["torchvision"])
        print(f"bs={bs}: p50 over {args.rounds} rounds x {args.iters} interleaved calls")
        for n in names:
            p50, p50_issue = statistics.median(gpu[n]), statistics.median(issue[n])
            bound = "launch-bound" if dev.type == "cuda" and p50_issue > 0.8 * p50 else ""
            print(f"  {n:34s} {p50:8.3f} ms  (issue {p50_issue:7.3f} ms) ratio {p50 / base:6.3f} {bound}")
            out["rows"].append({"batch_size": bs, "model": n, "p50_ms": p50, "issue_p50_ms": p50_issue,
                                "ratio_to_torchvision": p50 / base, "launch_bound": bool(bound)})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
