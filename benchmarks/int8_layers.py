"""Which layers carry int8's error: yolov3-tiny (official Darknet weights) quantised by NNCF for OpenVINO with
every convolution int8, then with each convolution alone kept fp32, and with the accuracy guard's fallback steps
(zoo.runtimes.guard.FP32_FALLBACKS) with the kept layers in fp32 or in bf16 (the int8 IR compiled under the bf16
hint, on CPUs with bf16). Each row: the guard's verdict on the calibration photos and their held-out views
(zoo.runtimes.guard), the largest score change among matched detections, and the network's p50 time.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/int8_layers.py [--calibration DIR] [--threads 2] [--no-single]

If no single layer kept fp32 brings the answers back, ranking layers by sensitivity cannot beat the fallback
steps: the error is spread over the network (docs/runtimes.md)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

import zoo
from zoo.bench.protocol import time_calls, warm_up
from zoo.devices import cpu_model
from zoo.runtimes.calibration import calibration_samples, calibration_set
from zoo.runtimes.exporter import export, read_metadata
from zoo.runtimes.guard import FP32_FALLBACKS, guard_models, run_artefact
from zoo.runtimes.quantize import WEIGHTED, quantize_openvino, sensitive_layers
from zoo.runtimes.runners import OV_PRECISION, cpu_has_bf16, require

DATA = Path(os.environ.get("ZOO_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
SIZE = 416
CPU = torch.device("cpu")


def p50_ms(model: Any, x: torch.Tensor, calls: int = 30) -> float:
    """The network's median latency, timed as the harness times (zoo.bench.protocol)."""
    with torch.inference_mode():
        warm_up(lambda: model(x), 5, CPU)
        return statistics.median(time_calls(lambda: model(x), CPU, iters=calls)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibration", type=Path, default=None, help="photos (default: the bundled ones)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-single", action="store_true", help="skip the one-layer-fp32 rows (13 quantisations)")
    args = ap.parse_args()
    if not (DATA / "yolov3-tiny.weights").is_file():
        sys.exit(f"error: the real yolov3-tiny weights are not at {DATA}")
    onnx, ov = require("onnx"), require("openvino")
    torch.set_num_threads(args.threads)
    model = zoo.load("yolov3-tiny", weights=DATA / "yolov3-tiny.weights").eval()
    onnx_file = export(model, "onnx", batch=1, check=False).path
    meta = read_metadata(onnx_file)
    cal = calibration_set(args.calibration)
    samples = calibration_samples(model, cal, [torch.zeros(1, 3, SIZE, SIZE)])
    convs = [n.name for n in onnx.load(str(onnx_file), load_external_data=False).graph.node if n.op_type in WEIGHTED]
    _, decoding = sensitive_layers(onnx_file, 1, 1)  # the box decoding stays fp32 in every row, as in the zoo's steps
    x = torch.rand(1, 3, SIZE, SIZE)
    print(f"CPU {cpu_model()}, {args.threads} threads; calibration: {cal.describe()['source']} "
          f"({len(samples)} photos); the guard judges them and their held-out views")
    rows: list[tuple[str, list[str]]] = [("every convolution int8", [])]
    if not args.no_single:
        rows += [(f"{name} fp32", [name]) for name in convs]
    rows += [(f"fallback {step}: {len(layers)} fp32", layers)
             for step in FP32_FALLBACKS for layers in [sensitive_layers(onnx_file, *step)[0]]]
    hints = ("f32", "bf16") if cpu_has_bf16() else ("f32",)
    print(f"{'kept fp32 (rest int8)':<34}{'rest run as':>12}{'max score diff':>16}{'ms':>8}  guard")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i, (label, keep) in enumerate(rows):
                path = Path(tmp) / f"{i}.xml"
                ov.save_model(quantize_openvino(onnx_file, samples, keep + decoding), str(path), compress_to_fp16=False)
                for hint in hints if keep else hints[:1]:
                    OV_PRECISION["int8"] = hint  # how the runner compiles an int8 IR: what NNCF left alone runs so
                    candidate = run_artefact(model, path, "openvino", "int8", meta, args.threads)
                    verdict = guard_models(model, candidate, "int8", cal, meta, (SIZE, SIZE))
                    metrics = verdict.metrics
                    said = verdict.summary.split(":")[0] if not verdict.same else "same"  # "3 of 9 detections differ, 2 extra"
                    print(f"{label:<34}{'int8+' + hint if keep else 'int8':>12}"
                          f"{metrics.get('max_score_diff', float('nan')):>16.3f}{p50_ms(candidate, x):>8.1f}  {said}",
                          flush=True)
    finally:
        OV_PRECISION["int8"] = "f32"  # the runner's own setting back


if __name__ == "__main__":
    main()
