"""Reduced precision that keeps the sensitive layers in fp32. Post-training int8 quantisation of an exported
fp32 ONNX network, calibrated on photos: OpenVINO through NNCF (`nncf.quantize`), ONNX Runtime through its own
static QDQ quantiser (`onnxruntime.quantization.quantize_static` with a CalibrationDataReader); OpenVINO's
bf16/fp16 (a compile-time hint) with marked nodes left in fp32 (`keep_fp32_openvino`).

All take `keep_fp32`: ONNX node names left in fp32 (NNCF ignored scope, ORT nodes_to_exclude, OpenVINO's
DisablePrecisionConversion). `sensitive_layers` names the usual ones, the first convolution and the layers
nearest each output (a detector's heads, a classifier's last FC); `sensitive_modules` the same torch modules,
for torch's own fp16/bf16 (zoo.runtimes.backend)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from zoo.errors import ExportError, first_line
from zoo.runtimes.runners import require

__all__ = ["PRESET", "cast_keeping_fp32", "keep_fp32_openvino", "overflow_fix", "quantize_onnx", "quantize_openvino", "sensitive_layers",
           "sensitive_modules", "tool_name"]

# NNCF's "mixed" preset: symmetric int8 weights, asymmetric activations (LeakyReLU's small negatives keep their
# codes), with plain min-max activation ranges like ORT's calibrator: NNCF's default (the mean of each photo's
# range) clipped the peaks that carry yolov3-tiny's detections when calibrating on 4 photos (the cup's score
# 0.49 -> 0.31 on the bundled photos; min-max: within 0.014). ORT's static quantiser is set to its CPU
# recommendation (QDQ, uint8 activations, per-channel int8 weights).
PRESET = "mixed"
ACTIVATION_RANGES = "MINMAX"  # nncf RangeEstimatorParametersSet member
WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")  # the ops both quantisers turn into int8 kernels
WEIGHTED_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
                    nn.Linear)  # the same layers in torch
# OpenVINO 2026's rt_info key of the legacy DisableFP16Compression: set from Python, ov.save_model writes it as
# <attribute name="DisablePrecisionConversion" value="dynamic:f16"/>, which the CPU plugin honours for bf16 and
# f16 hints alike (checked on an AVX512-BF16 EPYC: the marked convolutions report runtimePrecision f32)
KEEP_FP32_KEY = "precise_0"
# ops the CPU plugin fuses into a convolution (bias, residual sum, activation): a convolution kept fp32 whose
# fused residual Add / activation stays bf16 fails to compile ("object is not initialized", OpenVINO 2026.4),
# so they are kept with it
FUSED_AFTER = {"Add", "Subtract", "Multiply", "Relu", "PRelu", "Clamp", "Elu", "Sigmoid", "Tanh", "Swish", "HSwish",
               "HSigmoid", "Mish", "Gelu", "SoftPlus", "Exp"}


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


def overflow_fix() -> str:
    """NNCF's OverflowFix member for this CPU. NNCF's default (FIRST_LAYER) quantises the first convolutions'
    weights to 7 bits: without int8 dot products (SSE, AVX2, AVX-512 without VNNI) u8 x s8 pairs are summed in
    saturating 16 bits, and half the range keeps those sums from clipping. VNNI and AMX sum into 32 bits, where
    NNCF's own advice is DISABLE: full 8-bit weights. Measured on yolov3-tiny (Zen 4, shared photos): the first
    layer at 7 bits moves the cup 0.64 -> 0.68 and the tie 0.47 -> 0.48 with a person at 0.31; at 8 bits the cup
    is 0.67, the tie 0.49 and the guard passes with every layer int8."""
    from zoo.devices import INT8_DOT_FLAGS, cpu_flags

    return "DISABLE" if cpu_flags() & INT8_DOT_FLAGS else "FIRST_LAYER"


def tool_name(fmt: str) -> str:
    if fmt == "openvino":
        weights = "8-bit" if overflow_fix() == "DISABLE" else "7-bit (no VNNI)"
        return (f"nncf {require('nncf').__version__} quantize (preset {PRESET}, {ACTIVATION_RANGES.lower()} ranges, "
                f"{weights} first-layer weights)")
    return f"onnxruntime {require('onnxruntime').__version__} quantize_static (QDQ, u8 activations, s8 per-channel weights)"


def _nearest_outputs(outputs: list[Any], inputs_of: Callable[[Any], list[Any]], weighted: Callable[[Any], bool],
                     depth: int) -> tuple[list[Any], list[Any]]:
    """Walk a graph back from its `outputs` until `depth` weighted nodes were passed on each path: (the weighted
    nodes met, the other nodes met), in the order met; depth 0: nothing."""
    keep: list[Any] = []
    ops: list[Any] = []
    seen: set[Any] = set()
    stack = [(o, 0) for o in outputs] if depth > 0 else []  # (node, weighted nodes passed on the way back)
    while stack:
        node, passed = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        (keep if weighted(node) else ops).append(node)
        passed += weighted(node)
        if passed < depth:
            stack.extend((n, passed) for n in inputs_of(node))
    return keep, ops


def _first_and(first: list[str], rest: list[str]) -> list[str]:
    return list(dict.fromkeys(first + rest))


def sensitive_layers(onnx_file: Path, depth: int = 1, first: int = 1) -> tuple[list[str], list[str]]:
    """The `first` weighted layers from the input (they see raw pixels at full resolution: with 7-bit
    first-layer weights, yolov3-tiny's first three convolutions decide whether int8 keeps its detections), the
    `depth` weighted layers nearest each graph output (depth 1: a detector's heads, a classifier's last FC) and
    everything between those and the outputs (a detector's box decoding, where pixel coordinates and scores
    would share one 8-bit scale): where reduced precision changes answers most. Returns (weighted layers, the
    other ops kept with them), ONNX node names."""
    onnx = require("onnx")
    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    weighted = [n.name for n in graph.node if n.op_type in WEIGHTED]  # ONNX keeps nodes in topological order
    if not weighted:
        return [], []
    nodes = {n.name: n for n in graph.node}
    producer = {out: n.name for n in graph.node for out in n.output}
    keep, ops = _nearest_outputs([producer.get(o.name) for o in graph.output],
                                 lambda name: [producer.get(t) for t in nodes[name].input],
                                 lambda name: nodes[name].op_type in WEIGHTED, depth)
    return _first_and(weighted[:first], keep), ops


def sensitive_modules(model: nn.Module, inputs: tuple[Any, ...], depth: int = 1, first: int = 1) -> list[str]:
    """`sensitive_layers` for a torch network: the names of its `first` weighted modules (conv, linear) and of
    the `depth` weighted modules nearest each output, found by walking the autograd graph of one forward on
    `inputs` back from the outputs (in forward order: the last `depth` called when the graph is cut)."""
    order: list[str] = []
    made: dict[Any, str] = {}  # autograd node that made a weighted module's output -> module name

    def hook(name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: Any, out: Any) -> None:
            order.append(name)
            if isinstance(out, torch.Tensor) and out.grad_fn is not None:
                made[out.grad_fn] = name
        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in model.named_modules()
               if isinstance(m, WEIGHTED_MODULES)]
    try:  # a graph to walk even when called under torch.inference_mode (zoo predict)
        with torch.inference_mode(False), torch.enable_grad():
            leaves, spec = pytree.tree_flatten(inputs)
            leaves = [t.detach().clone().requires_grad_() if isinstance(t, torch.Tensor) and t.is_floating_point()
                      else t for t in leaves]
            out = model(*pytree.tree_unflatten(leaves, spec))
    finally:
        for h in handles:
            h.remove()
    if not order:
        return []
    ends = [t.grad_fn for t in pytree.tree_leaves(out) if isinstance(t, torch.Tensor) and t.grad_fn is not None]
    keep, _ = _nearest_outputs(ends, lambda fn: [f for f, _ in fn.next_functions], lambda fn: fn in made, depth)
    # a forward that cuts its graph (no_grad): call order
    names = [made[fn] for fn in keep] or (order[-depth:] if depth > 0 else [])
    return _first_and(list(dict.fromkeys(order))[:first], sorted(set(names), key=order.index))


def cast_keeping_fp32(model: nn.Module, dtype: torch.dtype, keep_fp32: list[str]) -> nn.Module:
    """A copy of `model` in `dtype` but for the modules named in `keep_fp32` (sensitive_modules), which stay fp32
    with their inputs cast up and their outputs cast back down: torch's fp16/bf16 with the fallback, run as it
    is (zoo.runtimes.backend) or traced into a TorchScript / torch.export artefact (the casts are in the graph)."""
    import copy

    from zoo.runtimes.guard import cast_floats

    fast = copy.deepcopy(model).to(dtype)
    for name in keep_fp32:  # the original weights: cast to dtype and back they would have lost their low bits
        module = fast.get_submodule(name).float()
        module.load_state_dict(model.get_submodule(name).state_dict())
        module.register_forward_pre_hook(lambda m, args: cast_floats(args, torch.float32))
        module.register_forward_hook(lambda m, args, out: cast_floats(out, dtype))
    return fast


def keep_patterns(keep_fp32: list[str]) -> list[str]:
    """Regexes of the OpenVINO nodes converted from the ONNX nodes `keep_fp32`: OpenVINO names a converted Conv
    '<onnx name>/WithoutBiases' (its bias an Add beside it, named as the ONNX node)."""
    return [f"^{re.escape(n)}(/.*)?$" for n in keep_fp32]


def keep_fp32_openvino(model: Any, keep_fp32: list[str]) -> int:
    """Mark the nodes of the OpenVINO `model` converted from the ONNX nodes `keep_fp32` (and the ops the CPU
    plugin fuses after them) to run in fp32 under a bf16/f16 inference precision hint; returns how many."""
    if not keep_fp32:
        return 0
    pattern = re.compile("|".join(keep_patterns(keep_fp32)))
    todo = [op for op in model.get_ordered_ops() if pattern.match(op.get_friendly_name())]
    marked = set()
    while todo:
        op = todo.pop()
        if op.get_friendly_name() in marked:
            continue
        marked.add(op.get_friendly_name())
        op.get_rt_info()[KEEP_FP32_KEY] = ""
        todo.extend(t.get_node() for out in op.outputs() for t in out.get_target_inputs()
                    if t.get_node().get_type_name() in FUSED_AFTER)
    return len(marked)


def _fail(fmt: str, e: BaseException) -> ExportError:
    return ExportError(f"the network cannot be quantised to int8 for {fmt}: {first_line(e, with_type=True)}")


def quantize_openvino(onnx_file: Path, samples: list[list[torch.Tensor]], keep_fp32: list[str]) -> Any:
    """An OpenVINO model of `onnx_file` with int8 weights and activations (NNCF, `samples` as calibration);
    the ONNX nodes named in `keep_fp32` stay in floating point."""
    ov = require("openvino")
    nncf = require("nncf")
    ignored = None
    if keep_fp32:
        ignored = nncf.IgnoredScope(patterns=keep_patterns(keep_fp32), validate=False)
    data = nncf.Dataset([[t.numpy() for t in s] for s in samples], lambda s: tuple(s) if len(s) > 1 else s[0])
    try:
        with _quiet():
            from nncf.quantization.advanced_parameters import OverflowFix
            from nncf.quantization.range_estimator import RangeEstimatorParametersSet

            ranges = getattr(RangeEstimatorParametersSet, ACTIVATION_RANGES)
            model = ov.convert_model(str(onnx_file))
            return nncf.quantize(model, data, preset=getattr(nncf.QuantizationPreset, PRESET.upper()),
                                 subset_size=len(samples), ignored_scope=ignored,
                                 advanced_parameters=nncf.AdvancedQuantizationParameters(
                                     activations_range_estimator_params=ranges,
                                     overflow_fix=getattr(OverflowFix, overflow_fix())))
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


def fp32_at_runtime(compiled: Any, keep_fp32: list[str]) -> list[str]:
    """Which of the ONNX layers `keep_fp32` the compiled OpenVINO model really runs in fp32: every runtime node
    made from one of them reports runtimePrecision f32. The CPU plugin drops the mark where it rebuilds a node
    (a MatMul becomes a FullyConnected named after its bias Add): such layers run bf16 and are not listed."""
    ran: dict[str, set[str]] = {}
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        for name in str(info["originalLayersNames"].astype(str)).split(","):
            ran.setdefault(name, set()).add(str(info["runtimePrecision"].astype(str)))
    out = []
    for layer in keep_fp32:
        pattern = re.compile(keep_patterns([layer])[0])
        precisions = set().union(*(p for name, p in ran.items() if pattern.match(name)))
        if precisions == {"f32"}:
            out.append(layer)
    return out
