"""The zoo's runtime backends against the references of issues 15 and 23, in one run, same CPU, same threads.

    .venv/bin/python benchmarks/runtimes.py [--threads 2] [--rounds 5] [--iters 4] [--classic resnet50,...]
        [--image PATH] [--calibration DIR] [--no-int8-timing] [--json out.json]

Every contender runs fp32 on torch / onnxruntime / OpenVINO, OpenVINO bf16 where the CPU has it, and int8 on
onnxruntime (static QDQ) and OpenVINO (NNCF), calibrated on --calibration (default: the four shared photos at
full size, the photos the answers below are compared on; `zoo export` defaults to resized copies of them in
zoo/data/calibration). Each row shows its achieved GFLOP/s (GOP/s for int8; FLOPs = 2 x MACs, torch's
counter) against this CPU's ISA peak at that precision (zoo.bench.flops.isa_peak_ops) and the accuracy guard
of its export (zoo.runtimes.guard: the task's answers against torch fp32 on the calibration photos).

1. yolov3-tiny (the official Darknet cfg and weights from ../shared/data) against OpenCV DNN
   (cv2.dnn.readNetFromDarknet on the same files):
   - network: OpenCV `net.forward` on a 416x416 blob against each backend's `forward` on the same pixels;
   - end to end on a real photo, from the file on disk to the final boxes: OpenCV imread + blobFromImage +
     forward + class-wise NMSBoxes (benchmarks/yolo_vs_opencv.py's pipeline) against `model.predict(path)`
     (decode + letterbox + network + decode boxes + NMS) on each backend;
   - detections unchanged: zoo.tasks.parity.compare_results against torch fp32 on every shared photo, at the
     row's precision (same classes, IoU >= 0.9, score within 0.02 for fp32 / 0.03 for reduced precisions);
     the guard column judges the calibration photos and held-out views of them (mirrored, centre 80%), and a
     line under the goals names the fastest row whose guard holds too, when that is another row.
2. resnet50 / googlenet / densenet121 / vgg16 against torchvision eager (torchvision's own builder holding
   the zoo model's weights): network per backend and precision, and top-1/top-5 unchanged on the shared
   photos (compare_results against torch fp32). Weights: cached ones when present, else random init. Random
   weights time the same work, but their answers mean nothing: a random network's softmax is nearly flat, so
   "top-1/top-5 unchanged" on it is a numerics check only (every class ties), and int8 calibrated on random
   activations says nothing about int8 accuracy. Rows say which weights they ran.
3. INT8 export + calibration time of resnet50 from an empty cache (fp32 ONNX export, calibration, quantisation,
   guard), for each runtime, with --threads threads (the goal: under 2 minutes on 2 cores).

All contenders of one comparison are timed in interleaved rounds (the order rotates every round), so load
from other processes on a shared machine hits them alike; p50 over all samples. ratio = reference p50 /
contender p50 (> 1: faster than the reference). Goals (issue 23): classic fp32 geomean >= 3x torchvision
eager; classic fastest with top-1/top-5 unchanged geomean >= 10x; yolov3-tiny fastest with detections
unchanged >= 5x OpenCV DNN's network and >= 3x end to end; INT8 export + calibration of resnet50 < 2 min.
Each goal also prints its ceiling on this CPU: the speed-up if every counted operation ran at the ISA peak of
the fastest precision the CPU has (fp32 only for the fp32 goal), at the boost clock seen in the fp32 probes and
rows, against the reference's achieved rate. A goal above its ceiling cannot be met on this CPU by any runtime;
the ceiling holds only for a quiet run (load depresses the reference's rate and so inflates it).

Thread waiting: the script imports torch (and OpenCV) before zoo, so zoo's default (OMP_WAIT_POLICY=PASSIVE, set
at `import zoo` only where torch is not loaded yet) does not apply: by default every contender spins (libgomp's
default, ONNX Runtime's spinning pool), as a script importing torch first runs. `OMP_WAIT_POLICY=PASSIVE
.venv/bin/python benchmarks/runtimes.py` runs it as `zoo predict` / `zoo bench` do; the header says which. The
end-to-end rows feel it most: torch's spinning preprocess threads and a runtime's inference threads share the
cores one after the other. On a machine shared with other busy processes, use PASSIVE.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from yolo_vs_opencv import CONF, NMS, opencv_pipeline  # noqa: E402

import zoo  # noqa: E402
from zoo.bench.flops import count_flops, isa_peak_ops, peak_reference  # noqa: E402
from zoo.bench.prepare import load_for_bench  # noqa: E402
from zoo.bench.protocol import time_calls, warm_up  # noqa: E402
from zoo.runtimes import with_backend  # noqa: E402
from zoo.runtimes.runners import cpu_has_bf16  # noqa: E402
from zoo.tasks.parity import compare_results, task_of  # noqa: E402
from zoo.threads import wait_policy  # noqa: E402

DATA = Path(os.environ.get("ZOO_TEST_DATA", ROOT.parent / "shared" / "data"))  # as the tests find it
CPU = torch.device("cpu")
CLASSIC = ("resnet50", "googlenet", "densenet121", "vgg16")
GOALS = {"yolo_best": 5.0, "yolo_best_e2e": 3.0, "classic_fp32": 3.0, "classic_best": 10.0, "int8_export_s": 120.0}


def variants(threads: int) -> list[tuple[str, str]]:
    """(backend, precision) pairs to run: fp32 everywhere, OpenVINO bf16 where the CPU has it, int8 on both
    runtimes."""
    out = [("torch", "fp32"), ("onnxruntime", "fp32"), ("openvino", "fp32")]
    if cpu_has_bf16():
        out.append(("openvino", "bf16"))
    return out + [("onnxruntime", "int8"), ("openvino", "int8")]


def interleaved(steps: dict[str, Callable[[], Any]], rounds: int, iters: int, warmup: int) -> dict[str, float]:
    """p50 ms of each step, timed in rounds whose order rotates."""
    for step in steps.values():
        warm_up(step, warmup, CPU)
    samples: dict[str, list[float]] = {k: [] for k in steps}
    labels = list(steps)
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            samples[label].extend(time_calls(steps[label], CPU, iters=iters))
    return {k: statistics.median(v) * 1e3 for k, v in samples.items()}


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def load_backends(model: Any, threads: int, dynamic_batch: bool = True,
                  calibration: Path | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Every (backend, precision) of `variants` and each one's accuracy guard in a few words; yolov3-tiny takes
    a fixed batch-1 export, as OpenCV's net is. A variant that cannot be made is left out, saying why."""
    out: dict[str, Any] = {}
    guards: dict[str, str] = {}
    for backend, precision in variants(threads):
        label = f"{backend} {precision}"
        try:
            m = model if (backend, precision) == ("torch", "fp32") else with_backend(
                model, backend, precision=precision, threads=threads, dynamic_batch=dynamic_batch,
                calibration=calibration)
        except Exception as e:  # one line, and the run goes on without it
            print(f"    {label:<17} left out: {type(e).__name__}: {str(e).splitlines()[0][:160]}", flush=True)
            continue
        info = getattr(m, "backend_info", {}) or {}
        out[label] = m
        guard = info.get("guard") or {}
        kept = len(guard.get("fp32_layers") or [])
        guards[label] = ("" if not guard else ("same" if guard["same"] else "CHANGES")
                         + (f", {kept} layers fp32" if kept else ""))
        if info:
            quant = info.get("quantization")
            cal = f"; {quant['tool']}, {quant['calibration']['images']} photos" if quant else ""
            print(f"    {label:<17} export {info.get('export_s', 0):5.1f} s{' (cached)' if info.get('cache_hit') else ''}"
                  f", compile {info.get('compile_s', 0):5.1f} s{cal}; guard: {guard.get('summary', 'none')}"
                  + (f" (fp32 layers: {', '.join(guard['fp32_layers'])})" if kept else ""), flush=True)
    return out, guards


def gops(flops: float, ms: float) -> float:
    return flops / (ms / 1e3) / 1e9


def clock_factor(threads: int, achieved_fp32: list[float]) -> float:
    """How far this CPU's fp32 runs above the ISA figure at the OS-reported clock (boost): the best of the
    harness's fp32 probes (large matmuls, 3x3/1x1 convolutions) and every fp32 row of this run, over that figure;
    at least 1. The ceilings below scale every precision's ISA peak by it."""
    isa = isa_peak_ops(threads, "fp32")
    if not isa:
        return float("nan")
    probes = max(peak_reference(CPU, torch.float32).probes.values(), default=0.0)
    return max(1.0, probes / isa[0], *(r / isa[0] for r in achieved_fp32))


def ceiling_rate(threads: int, clock: float, precisions: tuple[str, ...] = ("fp32", "bf16", "int8")) -> float:
    """The highest G(FL)OP/s any of `precisions` can reach on this CPU: its ISA peak at the boost clock. Every
    operation counted at that rate, nothing else (no memory traffic, no pre/post-processing): an upper bound."""
    peaks = [isa_peak_ops(threads, p) for p in precisions]
    return max((p[0] for p in peaks if p), default=float("nan")) * clock


def peak_cell(flops: float, ms: float, precision: str, threads: int) -> str:
    """Achieved G(FL)OP/s and its share of the ISA peak at that precision."""
    rate = gops(flops, ms)
    peak = isa_peak_ops(threads, precision)
    return f"{rate:6.0f} ({100 * rate / peak[0]:4.1f}%)" if peak else f"{rate:6.0f} (  n/a)"


# ---------------------------------------------------------------------------------------------- yolov3-tiny
def yolo(args: argparse.Namespace, photos: list[Path]) -> dict[str, Any]:
    cfg, weights = DATA / "yolov3-tiny.cfg", DATA / "yolov3-tiny.weights"
    model = zoo.load("yolov3-tiny", weights=weights).eval()
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    names = list(net.getUnconnectedOutLayersNames())
    print("  yolov3-tiny (official Darknet weights):", flush=True)
    models, guards = load_backends(model, args.threads, dynamic_batch=False, calibration=args.calibration)
    image = args.image
    bgr = cv2.imread(str(image))
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    blob = cv2.dnn.blobFromImage(bgr, 1 / 255.0, (416, 416), swapRB=True, crop=False)
    batch = torch.from_numpy(blob.copy())  # the same pixels for every network

    def cv_net() -> Any:
        net.setInput(blob)
        return net.forward(names)

    net_steps: dict[str, Callable[[], Any]] = {"opencv dnn": cv_net}
    for label, m in models.items():
        net_steps[label] = lambda m=m: m(batch)
    e2e_steps: dict[str, Callable[[], Any]] = {
        "opencv dnn": lambda: opencv_pipeline(net, names, cv2.imread(str(image)), 416)}
    for label, m in models.items():
        e2e_steps[label] = lambda m=m: m.predict(str(image), conf=CONF, iou=NMS)
    with torch.inference_mode():
        fwd = interleaved(net_steps, args.rounds, args.iters, args.warmup)
        e2e = interleaved(e2e_steps, args.rounds, args.iters, args.warmup)
        checks = {}
        ref = {p: models["torch fp32"].predict(str(p), conf=CONF, iou=NMS) for p in photos}
        for label, m in models.items():
            precision = label.split()[-1]
            verdicts = [compare_results(task_of(model), ref[p], m.predict(str(p), conf=CONF, iou=NMS),
                                        precision=precision, conf=CONF) for p in photos]
            n = sum(len(ref[p].detections) for p in photos)
            checks[label] = ("same" if all(v.same for v in verdicts) else
                             "DIFFER: " + next(v.summary for v in verdicts if not v.same)) + f" ({n} boxes on {len(photos)} photos)"
        flops = count_flops(model, batch)
    del rgb
    return {"network_ms": fwd, "e2e_ms": e2e, "detections_vs_torch_fp32": checks, "image": image.name,
            "guard": guards, "flops": flops}


# ---------------------------------------------------------------------------------------------- classic CNNs
COL = 25  # a classic table column: "CHANGES, 18 layers fp32" and a space
def torchvision_twin(model: Any) -> torch.nn.Module:
    """torchvision's own builder with the zoo model's weights (the zoo's Classifier wraps a torchvision net)."""
    import torchvision

    arch = model.spec.arch if getattr(model.spec, "arch", None) else model.spec.name
    kwargs = {"aux_logits": False, "init_weights": False} if arch == "googlenet" else {}
    tv = getattr(torchvision.models, arch)(weights=None, **kwargs)
    missing, unexpected = tv.load_state_dict(model.net.state_dict(), strict=False)
    if missing:
        raise RuntimeError(f"{arch}: torchvision twin misses {missing[:3]}")
    if arch == "googlenet":
        tv.transform_input = getattr(model.net, "transform_input", False)
    return tv.eval()


def classic(name: str, args: argparse.Namespace, photos: list[Path]) -> dict[str, Any]:
    # without cached weights, the same random network in every run: its near-ties, and so the guard's verdicts
    # and fallbacks, repeat between runs (they moved resnet50's int8 between 12.9 and 22.7 ms), and exports are hit
    torch.manual_seed(0)
    model = load_for_bench(name, "auto", CPU).eval()
    print(f"  {name} ({model.weights_source}):", flush=True)
    tv = torchvision_twin(model)
    models, guards = load_backends(model, args.threads, calibration=args.calibration)
    x = torch.rand(1, 3, 224, 224)
    with torch.inference_mode():
        same = float((tv(x) - model(x)).abs().max())
        if same > 1e-4:
            raise RuntimeError(f"{name}: the torchvision twin differs from the zoo model by {same}")
        steps: dict[str, Callable[[], Any]] = {"torchvision eager": lambda: tv(x)}
        for label, m in models.items():
            steps[label] = lambda m=m: m(x)
        p50 = interleaved(steps, args.rounds, args.iters, args.warmup)
        ref = model.predict([str(p) for p in photos])  # torch fp32 == torchvision's (checked above)
        answers = {label: compare_results(task_of(model), ref, m.predict([str(p) for p in photos]),
                                          precision=label.split()[-1]) for label, m in models.items()}
        flops = count_flops(model, x)
    return {"weights": model.weights_source, "p50_ms": p50, "flops": flops, "guard": guards,
            "topk_unchanged": {k: v.same for k, v in answers.items()},
            "topk_summary": {k: v.summary for k, v in answers.items()}}


def int8_export_time(name: str, threads: int) -> dict[str, float]:
    """Seconds of `zoo export NAME --precision int8` per runtime from an empty cache (a temporary ZOO_HOME):
    fp32 ONNX export, calibration on the bundled photos, quantisation, parity check and guard."""
    from zoo.runtimes.exporter import export

    out = {}
    for fmt in ("onnx", "openvino"):
        home = Path(tempfile.mkdtemp(prefix="zoo-int8-time-"))
        old = os.environ.get("ZOO_HOME")
        os.environ["ZOO_HOME"] = str(home)
        try:
            torch.manual_seed(0)  # the classic rows' network: a random one's near-ties may make the guard fall back
            model = load_for_bench(name, "random", CPU).eval()  # (every step quantises again: 49 s once, unseeded)
            start = time.perf_counter()
            export(model, fmt, precision="int8")
            out[fmt] = time.perf_counter() - start
        finally:
            if old is None:
                os.environ.pop("ZOO_HOME", None)
            else:
                os.environ["ZOO_HOME"] = old
            shutil.rmtree(home, ignore_errors=True)
        print(f"  {name} int8 {fmt}: exported, calibrated and guarded in {out[fmt]:.1f} s ({threads} threads)",
              flush=True)
    return out


# ---------------------------------------------------------------------------------------------- report
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=4, help="timed calls per contender per round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--classic", default=",".join(CLASSIC))
    ap.add_argument("--image", type=Path, default=DATA / "images" / "grace_hopper.jpg")
    ap.add_argument("--no-int8-timing", action="store_true", help="skip the resnet50 int8 export timing")
    ap.add_argument("--calibration", type=Path, default=DATA / "images",
                    help="int8's calibration photos and every guard's, the same photos the answers are compared on "
                         "(default: the shared photos at full size)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not (DATA / "yolov3-tiny.weights").is_file():
        sys.exit(f"error: the real yolov3-tiny files are not at {DATA}")
    from zoo.devices import cpu_model

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    photos = sorted((DATA / "images").iterdir())
    load = os.getloadavg()[0]
    peaks = {p: isa_peak_ops(args.threads, p) for p in ("fp32", "bf16", "int8")}
    print(f"CPU {cpu_model()}, {args.threads} threads for torch, OpenCV {cv2.__version__}, onnxruntime and "
          f"OpenVINO; torch {torch.__version__}; load average {load:.1f} on {os.cpu_count()} CPUs when the run "
          f"started; {args.rounds} interleaved rounds x {args.iters} calls; thread waiting: {wait_policy()} "
          f"(torch is imported before zoo here, so zoo's PASSIVE default applies only when set in the environment)",
          flush=True)
    print("ISA peak at --threads: " + "; ".join(f"{p} {v[0]:.0f} G{'OP' if p == 'int8' else 'FLOP'}/s ({v[1]})"
                                              if v else f"{p} n/a" for p, v in peaks.items()), flush=True)
    y = yolo(args, photos)
    c = {name: classic(name, args, photos) for name in args.classic.split(",") if name}
    int8_s = {} if args.no_int8_timing else int8_export_time("resnet50", args.threads)

    print("\nyolov3-tiny 416, batch 1, p50 ms (speed-up = OpenCV / contender; > 1: faster than OpenCV DNN); "
          "G(FL)OP/s of the network (% of the ISA peak at its precision)")
    print(f"{'':<18}{'network':>18}{'end to end':>18}{'GFLOP/s (% peak)':>19}  {'guard':<22} detections vs torch fp32")
    base_n, base_e = y["network_ms"]["opencv dnn"], y["e2e_ms"]["opencv dnn"]
    for label in y["network_ms"]:
        n, e = y["network_ms"][label], y["e2e_ms"][label]
        precision = label.split()[-1] if label != "opencv dnn" else "fp32"
        print(f"{label:<18}{n:9.1f} ({base_n / n:4.2f}x){e:9.1f} ({base_e / e:4.2f}x)"
              f"{peak_cell(y['flops'], n, precision, args.threads):>19}  {y['guard'].get(label, ''):<22} "
              f"{y['detections_vs_torch_fp32'].get(label, 'reference')}")
    same = [k for k in y["network_ms"] if k != "opencv dnn" and y["detections_vs_torch_fp32"][k].startswith("same")]
    fp32_rates = [gops(y["flops"], ms) for k, ms in y["network_ms"].items() if k.endswith("fp32") or k == "opencv dnn"]
    fp32_rates += [gops(r["flops"], ms) for r in c.values() for k, ms in r["p50_ms"].items()
                   if k.endswith("fp32") or k == "torchvision eager"]
    clock = clock_factor(args.threads, fp32_rates)
    any_rate, fp32_rate = ceiling_rate(args.threads, clock), ceiling_rate(args.threads, clock, ("fp32",))
    ceilings = {"yolo_best": any_rate / gops(y["flops"], base_n),
                "yolo_best_e2e": base_e / (y["flops"] / any_rate / 1e9 * 1e3)}
    results: dict[str, float] = {
        "yolo_best": max((base_n / y["network_ms"][k] for k in same), default=float("nan")),
        "yolo_best_e2e": max((base_e / y["e2e_ms"][k] for k in same), default=float("nan"))}

    if c:
        weights = {r["weights"] for r in c.values()}
        print(f"\nclassic CNNs 224, batch 1, p50 ms (speed-up = torchvision eager / contender); weights: "
              f"{', '.join(sorted(weights))}")
        if "random init" in weights:
            print("  random weights: the timings hold, but top-1/top-5 agreement on a random network (flat softmax, "
                  "every class a tie) and int8 calibrated on its activations say nothing about accuracy")
        labels = list(next(iter(c.values()))["p50_ms"])
        print(f"{'':<13}" + "".join(f"{lab:>{COL}}" for lab in labels))
        for name, r in c.items():
            base = r["p50_ms"]["torchvision eager"]
            print(f"{name:<13}" + "".join(f"{r['p50_ms'][lab]:9.1f} ({base / r['p50_ms'][lab]:5.2f}x)".rjust(COL)
                                          for lab in labels))
            print(f"{'  GFLOP/s':<13}" + "".join(
                peak_cell(r["flops"], r["p50_ms"][lab], lab.split()[-1] if lab != "torchvision eager" else "fp32",
                          args.threads).rjust(COL) for lab in labels))
            print(f"{'  top-1/5':<13}" + "".join(
                ("reference" if lab == "torchvision eager" else "same" if r["topk_unchanged"].get(lab)
                 else "CHANGED").rjust(COL) for lab in labels))
            print(f"{'  guard':<13}" + "".join((r["guard"].get(lab, "") or "").rjust(COL) for lab in labels))
        per_backend = {lab: geomean([r["p50_ms"]["torchvision eager"] / r["p50_ms"][lab] for r in c.values()
                                     if lab in r["p50_ms"]])
                       for lab in labels if lab != "torchvision eager"}
        print("geomean speed-up: " + ", ".join(f"{k} {v:.2f}x" for k, v in per_backend.items()))
        results["classic_fp32"] = max(v for k, v in per_backend.items() if k.endswith("fp32"))
        bests = []
        for r in c.values():
            ok = [lab for lab, s in r["topk_unchanged"].items() if s]
            bests.append(max(r["p50_ms"]["torchvision eager"] / r["p50_ms"][lab] for lab in ok))
        results["classic_best"] = geomean(bests)
        eager = [gops(r["flops"], r["p50_ms"]["torchvision eager"]) for r in c.values()]
        ceilings["classic_fp32"] = geomean([fp32_rate / e for e in eager])
        ceilings["classic_best"] = geomean([any_rate / e for e in eager])
    if int8_s:
        results["int8_export_s"] = max(int8_s.values())

    print(f"\ngoals (issue 23), {cpu_model()}, {args.threads} threads; ceiling: the speed-up if every operation ran "
          f"at the ISA peak of the fastest precision this CPU has (fp32 only for the fp32 goal) at the boost clock "
          f"(x{clock:.2f} the OS clock, from the fp32 probes and rows), against the reference's achieved rate")
    names = {"yolo_best": "yolov3-tiny fastest with detections unchanged, network vs OpenCV DNN",
             "yolo_best_e2e": "yolov3-tiny fastest with detections unchanged, end to end vs OpenCV",
             "classic_fp32": "classic geomean fp32 vs torchvision eager (best backend)",
             "classic_best": "classic geomean fastest with top-1/top-5 unchanged (any precision)",
             "int8_export_s": "INT8 export + calibration of resnet50 (slower runtime), seconds"}
    guarded = [k for k in same if not y["guard"].get(k) or y["guard"][k].startswith("same")]
    if guarded != same:  # a row whose answers held on its calibration photos but not on its guard's held-out views
        best_n = max(guarded, key=lambda k: base_n / y["network_ms"][k], default=None)
        best_e = max(guarded, key=lambda k: base_e / y["e2e_ms"][k], default=None)
        print("  (the guard judges the calibration photos and held-out views of them; fastest whose guard also holds: "
              + (f"network {base_n / y['network_ms'][best_n]:.2f}x ({best_n}), end to end "
                 f"{base_e / y['e2e_ms'][best_e]:.2f}x ({best_e}))" if best_n else "none)"))
    for key, value in results.items():
        if key == "int8_export_s":
            print(f"  {names[key]:<68} {value:5.1f} s  goal < {GOALS[key]:.0f} s  "
                  f"{'met' if value < GOALS[key] else 'NOT met'}")
        else:
            top = ceilings.get(key, float("nan"))
            verdict = ("met" if value >= GOALS[key] else
                       "NOT met: above this CPU's ceiling" if top < GOALS[key] else "NOT met")
            print(f"  {names[key]:<68} {value:5.2f}x  goal >= {GOALS[key]:4.1f}x  ceiling {top:5.2f}x  {verdict}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"cpu": cpu_model(), "threads": args.threads, "load_average": load, "isa_peaks": peaks,
                       "yolov3-tiny": y, "classic": c, "int8_export_s": int8_s, "results": results,
                       "clock_factor": clock, "ceilings": ceilings,
                       "goals": GOALS}, fh, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
