"""Post-training int8 quantisation of an exported fp32 ONNX network, calibrated on photos:
OpenVINO through NNCF (`nncf.quantize`), ONNX Runtime through its own static QDQ quantiser
(`onnxruntime.quantization.quantize_static` with a CalibrationDataReader).

Both take `keep_fp32`: ONNX node names left in floating point (NNCF ignored scope, ORT nodes_to_exclude);
`sensitive_layers` names the usual ones, the first convolution and the layers nearest each output (a
detector's heads, a classifier's last FC)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from zoo.errors import ExportError, first_line
from zoo.runtimes.runners import require

__all__ = ["PRESET", "quantize_onnx", "quantize_openvino", "sensitive_layers", "tool_name"]

# NNCF's "mixed" preset: symmetric int8 weights, asymmetric activations (LeakyReLU's small negatives keep their
# codes), with plain min-max activation ranges like ORT's calibrator: NNCF's default (the mean of each photo's
# range) clipped the peaks that carry yolov3-tiny's detections when calibrating on 4 photos (the cup's score
# 0.49 -> 0.31 on the bundled photos; min-max: within 0.014). ORT's static quantiser is set to its CPU
# recommendation (QDQ, uint8 activations, per-channel int8 weights).
PRESET = "mixed"
ACTIVATION_RANGES = "MINMAX"  # nncf RangeEstimatorParametersSet member
WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")  # the ops both quantisers turn into int8 kernels


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """NNCF draws progress bars and both quantisers log advice: keep stdout for results (`--json`)."""
    root = logging.getLogger()
    level = root.level
    nncf_logger = logging.getLogger("nncf")
    nncf_level = nncf_logger.level
    root.setLevel(logging.ERROR)
    nncf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
        nncf_logger.setLevel(nncf_level)


def tool_name(fmt: str) -> str:
    if fmt == "openvino":
        return f"nncf {require('nncf').__version__} quantize (preset {PRESET}, {ACTIVATION_RANGES.lower()} ranges)"
    return f"onnxruntime {require('onnxruntime').__version__} quantize_static (QDQ, u8 activations, s8 per-channel weights)"


def sensitive_layers(onnx_file: Path, depth: int = 1, first: int = 1) -> tuple[list[str], list[str]]:
    """The `first` weighted layers from the input (they see raw pixels at full resolution: yolov3-tiny's first
    three convolutions decide whether int8 keeps its detections), the `depth` weighted layers nearest each graph
    output (depth 1: a detector's heads, a classifier's last FC) and everything between those and the outputs
    (a detector's box decoding, where pixel coordinates and scores would share one 8-bit scale): where reduced
    precision changes answers most. Returns (weighted layers, the other ops kept with them), ONNX node names."""
    onnx = require("onnx")
    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    weighted = [n for n in graph.node if n.op_type in WEIGHTED]  # ONNX keeps nodes in topological order
    if not weighted:
        return [], []
    producer = {out: n for n in graph.node for out in n.output}
    keep, ops = [n.name for n in weighted[:first]], []
    seen: set[str] = set()
    stack = [(o.name, 0) for o in graph.output]  # (tensor, weighted layers passed on the way back)
    while stack:
        tensor, passed = stack.pop()
        node = producer.get(tensor)
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.name not in keep and node.name not in ops:
            (keep if node.op_type in WEIGHTED else ops).append(node.name)
        passed += node.op_type in WEIGHTED
        if passed < depth:
            stack.extend((t, passed) for t in node.input)
    return keep, ops


def _fail(fmt: str, e: BaseException) -> ExportError:
    return ExportError(f"the network cannot be quantised to int8 for {fmt}: {first_line(e, with_type=True)}")


def quantize_openvino(onnx_file: Path, samples: list[list[torch.Tensor]], keep_fp32: list[str]) -> Any:
    """An OpenVINO model of `onnx_file` with int8 weights and activations (NNCF, `samples` as calibration);
    the ONNX nodes named in `keep_fp32` stay in floating point."""
    ov = require("openvino")
    nncf = require("nncf")
    ignored = None
    if keep_fp32:  # OpenVINO names a converted Conv '<onnx name>/WithoutBiases' (its bias an Add beside it)
        ignored = nncf.IgnoredScope(patterns=[f"^{re.escape(n)}(/.*)?$" for n in keep_fp32], validate=False)
    data = nncf.Dataset([[t.numpy() for t in s] for s in samples], lambda s: tuple(s) if len(s) > 1 else s[0])
    try:
        with _quiet():
            from nncf.quantization.range_estimator import RangeEstimatorParametersSet

            ranges = getattr(RangeEstimatorParametersSet, ACTIVATION_RANGES)
            model = ov.convert_model(str(onnx_file))
            return nncf.quantize(model, data, preset=getattr(nncf.QuantizationPreset, PRESET.upper()),
                                 subset_size=len(samples), ignored_scope=ignored,
                                 advanced_parameters=nncf.AdvancedQuantizationParameters(
                                     activations_range_estimator_params=ranges))
    except Exception as e:  # NNCF's refusal (an op it cannot place quantisers around) is data: one line
        raise _fail("openvino", e) from None


class _Reader:
    """onnxruntime.quantization's CalibrationDataReader protocol: one input feed per call, None at the end."""

    def __init__(self, names: list[str], samples: list[list[torch.Tensor]]):
        self._feeds = iter([{n: t.numpy() for n, t in zip(names, s)} for s in samples])

    def get_next(self) -> dict[str, Any] | None:
        return next(self._feeds, None)


def quantize_onnx(onnx_file: Path, out: Path, samples: list[list[torch.Tensor]], keep_fp32: list[str]) -> None:
    """Write `onnx_file` statically quantised (QDQ) to `out`, calibrated on `samples` (min-max)."""
    q = require("onnxruntime.quantization")
    onnx = require("onnx")
    names = [i.name for i in onnx.load(str(onnx_file), load_external_data=False).graph.input]
    reader = type("Reader", (_Reader, q.CalibrationDataReader), {})(names, samples)
    try:
        with _quiet():
            q.quantize_static(str(onnx_file), str(out), reader, quant_format=q.QuantFormat.QDQ, per_channel=True,
                              activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                              nodes_to_exclude=list(keep_fp32))
    except Exception as e:
        raise _fail("onnxruntime", e) from None
