"""A model's forward idle and beside one busy process: how thread waiting policies hold up when cores are shared.

    .venv/bin/python benchmarks/busy_load.py [--model yolov3-tiny] [--backend torch|onnxruntime|openvino]
        [--iters 15] [--rounds 2] [--busy-seconds 120] [--json out.json]

Each configuration runs in its own process (libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT once, when torch
loads it): `spin` is libgomp's default (GOMP_SPINCOUNT=300000, what torch does when nothing is set), `passive`
is OMP_WAIT_POLICY=PASSIVE (cvzoo's default since zoo.threads), both with all the cores' threads, and
`1 thread` is torch.set_num_threads(1). A child process times `--iters` forward calls idle, then starts a burner
(a process spinning on one core for at most --busy-seconds, killed as soon as the timing ends) and times them
again. Configurations alternate over --rounds (order flipped each round); medians over rounds. Ratios are
against `1 thread` in the same state (idle or busy): > 1 is slower than one thread. Weights are random (the
forward's time does not depend on them). The ONNX Runtime / OpenVINO backends follow the same policy
(zoo.threads: spinning off and no CPU pinning under PASSIVE).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CONFIGS = {  # name -> (environment changes, threads: None = every core this process may use)
    "spin": ({"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": "300000"}, None),  # libgomp's documented default count
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": None}, None),
    "1 thread": ({"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": None}, 1),
}
BURN = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


def child(args: argparse.Namespace) -> None:
    """Time the model idle, then beside a burner; print one JSON line."""
    import torch

    import zoo

    if args.threads:
        torch.set_num_threads(args.threads)
    model = zoo.build(args.model).eval()
    if args.backend != "torch":
        from zoo.runtimes import with_backend

        model = with_backend(model, args.backend, threads=torch.get_num_threads())
    inputs = model.example_inputs(1)

    def timed() -> float:
        times = []
        with torch.inference_mode():
            for _ in range(args.iters):
                start = time.perf_counter()
                model(*inputs)
                times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3

    with torch.inference_mode():
        for _ in range(3):
            model(*inputs)
    idle = timed()
    burner = subprocess.Popen([sys.executable, "-c", BURN.format(s=args.busy_seconds)])
    try:
        time.sleep(0.3)  # let it take its core
        busy = timed()
    finally:
        burner.kill()
        burner.wait()
    print(json.dumps({"idle_ms": idle, "busy_ms": busy, "threads": torch.get_num_threads()}))


def run_config(name: str, args: argparse.Namespace) -> dict[str, Any]:
    changes, threads = CONFIGS[name]
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env.pop("OMP_NUM_THREADS", None)  # threads are set by --threads in the child
    cmd = [sys.executable, __file__, "--child", "--model", args.model, "--backend", args.backend,
           "--iters", str(args.iters), "--busy-seconds", str(args.busy_seconds)]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.busy_seconds + 600)
    if out.returncode != 0:
        raise SystemExit(f"{name}: child failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="yolov3-tiny")
    ap.add_argument("--backend", default="torch", choices=("torch", "onnxruntime", "openvino"))
    ap.add_argument("--iters", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--busy-seconds", type=int, default=120, help="upper bound on the burner's life")
    ap.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.child:
        child(args)
        return

    from zoo.bench.env import cpu_model

    start_load = os.getloadavg()[0]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    for r in range(args.rounds):
        for name in list(CONFIGS) if r % 2 == 0 else list(CONFIGS)[::-1]:
            results[name].append(run_config(name, args))
    med = {name: {k: statistics.median(x[k] for x in rs) for k in ("idle_ms", "busy_ms")} | {"threads": rs[0]["threads"]}
           for name, rs in results.items()}
    one = med["1 thread"]
    print(f"{args.model} forward (batch 1, random weights) on {args.backend}; {cpu_model()}, "
          f"{os.cpu_count()} CPUs; load average {start_load:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
          f"median of {args.iters} calls, median over {args.rounds} rounds")
    print(f"{'config':<10}{'threads':>8}{'idle ms':>10}{'busy ms':>10}{'idle/1t':>9}{'busy/1t':>9}{'busy/idle':>11}")
    for name, m in med.items():
        print(f"{name:<10}{m['threads']:>8}{m['idle_ms']:>10.1f}{m['busy_ms']:>10.1f}{m['idle_ms'] / one['idle_ms']:>8.2f}x"
              f"{m['busy_ms'] / one['busy_ms']:>8.2f}x{m['busy_ms'] / m['idle_ms']:>10.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "backend": args.backend, "cpu": cpu_model(),
                                         "results": results, "medians": med}, indent=2))


if __name__ == "__main__":
    main()
