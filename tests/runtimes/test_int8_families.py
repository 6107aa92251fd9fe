"""INT8 for every classic model and yolov3-tiny (issue 23's "done when"): each architecture quantises through the
zoo's own export path, runs as a backend, predicts, and is guarded; yolov3-tiny with its official weights keeps
its detections on the photos OpenVINO int8 was calibrated on, and the guard judges it on held-out views of them
too."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sweep import quick_or_full

import zoo
from zoo.runtimes.calibration import BUNDLED, HELD_OUT_VIEWS
from zoo.tasks.parity import compare_results, task_of

# resnet18 is test_runtimes_int8's (the same seed would make its export this file's cache hit)
CLASSIC = [name for name in zoo.list_models(family="classic") if name != "resnet18"]
# By default GoogLeNet (inception branches, concatenations); DenseNet-121 (13 s: pre-activation dense blocks),
# ResNet-50 (bottlenecks), AlexNet and VGG (0.2-0.5 GB of weights each) under `full`.
QUICK = frozenset({"googlenet"})
SIZE = (64, 64)


def _quantised_convs(path: Path) -> tuple[int, int]:
    """(weighted layers, those reading a dequantised int8 weight) of a QDQ ONNX model."""
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    weighted = [n for n in graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    dq = [n for n in weighted if n.input[1] in producer and producer[n.input[1]].op_type == "DequantizeLinear"]
    return len(weighted), len(dq)


@pytest.mark.parametrize("arch", quick_or_full(CLASSIC, QUICK))
def test_every_classic_architecture_runs_int8(arch: str, home: Path) -> None:
    torch.manual_seed(0)
    model = zoo.build(arch).eval()
    fast = zoo.runtimes.with_backend(model, "onnxruntime", precision="int8", input_size=SIZE, dynamic_batch=False)
    info = fast.backend_info
    weighted, quantised = _quantised_convs(Path(info["artefact"]))
    kept = len(info["guard"].get("fp32_layers") or [])
    assert quantised == weighted - kept and quantised >= weighted // 2, (weighted, quantised, kept)
    assert info["guard"]["ran"] and info["guard"]["images"] == 4 * (1 + len(HELD_OUT_VIEWS))
    image = str(sorted(BUNDLED.glob("*.jpg"))[0])
    top = fast.predict(image, size=SIZE[0]).topk
    assert len(top) == 5 and all(0.0 <= p.score <= 1.0 for p in top)


@pytest.mark.parametrize("fmt", ["openvino", pytest.param("onnx", marks=pytest.mark.full)])
def test_yolov3_tiny_int8_is_judged_on_photos_it_was_not_calibrated_on(fmt: str, in_yolo_home: Path) -> None:
    """Official weights, calibrated on the bundled photos and guarded on them and their held-out views. On the
    photos themselves int8 keeps torch fp32's detections (same classes, IoU >= 0.9, scores within 0.03: what
    calibration fits); on their mirrored and cropped copies it moved 3-5 of 9 detections past 0.03 on AMD Zen 4
    with OpenVINO 2026.4 until the fallback kept 10 of 13 convolutions fp32. The guard must have compared real
    detections and say what changed by photo and view, or which layers it kept fp32 to keep them."""
    model = zoo.load("yolov3-tiny").eval()
    fast = zoo.runtimes.with_backend(model, fmt if fmt == "openvino" else "onnxruntime", precision="int8",
                                     dynamic_batch=False)
    guard = fast.backend_info["guard"]
    assert guard["ran"] and guard["held_out"] == 4 * len(HELD_OUT_VIEWS) and guard["metrics"]["detections"] >= 5, guard
    if not guard["same"]:
        assert guard["mismatches"] and all(".jpg" in m for m in guard["mismatches"]), guard["mismatches"]
    assert guard["same"] or guard["fp32_layers"]  # the fallback ran its steps
    if fmt == "openvino":
        photos = [str(p) for p in sorted(BUNDLED.glob("*.jpg"))]
        with torch.inference_mode():
            agree = compare_results(task_of(model), [model.predict(p) for p in photos],
                                    [fast.predict(p) for p in photos], precision="int8", conf=model.default_conf)
        assert agree.same, agree.summary
