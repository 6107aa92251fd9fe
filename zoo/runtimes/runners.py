"""Opening an exported artefact for inference: one `Runner` per format, each taking the flat list of input
tensors and returning the flat list of output tensors (torch, float32 where the network gives floats)."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from zoo.errors import InputError, RuntimeMissingError
from zoo.threads import onnxruntime_config, openvino_config

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
OV_PRECISION = {"fp32": "f32", "bf16": "bf16", "fp16": "f16",  # INFERENCE_PRECISION_HINT values
                "int8": "f32"}  # an int8 IR: what NNCF left unquantised (kept fp32 on purpose) stays f32


def require(module: str) -> Any:
    """Import an optional runtime module; missing -> one line naming the pip install."""
    from zoo.runtimes import INSTALL_HINT

    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        raise RuntimeMissingError(f"{top} is not installed ({e.msg if hasattr(e, 'msg') else e}); "
                                  f"run: {INSTALL_HINT}") from None


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 (AVX512-BF16 or AMX), as OpenVINO itself reports it."""
    try:
        ov = require("openvino")
        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # no OpenVINO: the CPU's own flags
        from zoo.devices import cpu_has_native

        return cpu_has_native("bf16")


def cpu_has_fp16() -> bool:
    """Whether OpenVINO's CPU plugin runs f16 natively here (AVX512-FP16 / AMX-FP16, or ARM)."""
    ov = require("openvino")
    return "FP16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def check_cpu_precision(backend: str, precision: str) -> None:
    """OpenVINO's bf16/f16 hints fall back to f32 silently on CPUs without them: refuse in one line instead."""
    if backend != "openvino" or precision in ("fp32", "int8"):  # int8 runs on any x86 (fastest with VNNI/AMX)
        return
    ok = cpu_has_bf16() if precision == "bf16" else cpu_has_fp16()
    if not ok:
        need = "AVX512-BF16 or AMX" if precision == "bf16" else "AVX512-FP16 or AMX-FP16"
        raise InputError(f"this CPU has no native {precision} ({need}): OpenVINO would run fp32 anyway; "
                         "use --precision fp32")


@dataclass
class Runner:
    """A compiled artefact: `run(leaves) -> leaves`; `input_shapes` are what a fixed export takes (None: any)."""

    fmt: str
    path: Path
    run: Callable[[list[torch.Tensor]], list[torch.Tensor]]
    input_shapes: list[tuple[Any, ...]] = field(default_factory=list)  # per input: ints, None where dynamic
    compile_s: float = 0.0
    session: Any = None  # the runtime's own object (ONNX Runtime session, OpenVINO compiled model), for inspection

    def __call__(self, leaves: list[torch.Tensor]) -> list[torch.Tensor]:
        check_shapes(self.input_shapes, leaves, self.path)
        return self.run(leaves)


def check_shapes(expected: list[tuple[Any, ...]], leaves: list[torch.Tensor], path: Path) -> None:
    """An input the artefact cannot take is one line naming both shapes, not a runtime's stack trace."""
    if not expected:
        return
    for want, got in zip(expected, leaves):
        got_shape = tuple(got.shape)
        if len(want) != len(got_shape) or any(w is not None and w != g for w, g in zip(want, got_shape)):
            shown = "x".join("N" if w is None else str(w) for w in want)
            raise InputError(f"{path.name} was exported for input {shown}, got {'x'.join(map(str, got_shape))}; "
                             "export again with that --size / --batch (or --dynamic-batch)")


def _numpy(t: torch.Tensor) -> Any:
    return t.detach().cpu().contiguous().numpy()


def _tensor(a: Any) -> torch.Tensor:
    import numpy as np

    return torch.from_numpy(np.ascontiguousarray(a))


def open_runner(path: Path, fmt: str, precision: str = "fp32", threads: int | None = None) -> Runner:
    """Compile `path` (a `fmt` artefact) for the CPU with `threads` threads at `precision`."""
    import time

    start = time.perf_counter()
    runner = {"onnx": _onnxruntime, "openvino": _openvino, "torchscript": _torchscript, "pt2": _pt2}[fmt](
        Path(path), precision, threads)
    runner.compile_s = time.perf_counter() - start
    return runner


def _onnxruntime(path: Path, precision: str, threads: int | None) -> Runner:
    ort = require("onnxruntime")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # warnings about unused initializers are noise for users
    for key, value in onnxruntime_config().items():  # spin or sleep as torch's threads do (zoo.threads)
        opts.add_session_config_entry(key, value)
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    shapes = [tuple(d if isinstance(d, int) else None for d in i.shape) for i in sess.get_inputs()]

    def run(leaves: list[torch.Tensor]) -> list[torch.Tensor]:
        outs = sess.run(None, {n: _numpy(t) for n, t in zip(names, leaves)})
        return [_tensor(o) for o in outs]

    return Runner("onnx", path, run, shapes, session=sess)


def _openvino(path: Path, precision: str, threads: int | None) -> Runner:
    ov = require("openvino")
    from zoo.paths import zoo_home

    core = ov.Core()
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": OV_PRECISION[precision],
                              "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()),
                              **openvino_config()}  # pinning as zoo.threads decides
    try:  # compiled blobs are cached too: the second compile of the same IR is a read
        cache = zoo_home() / "exports" / ".openvino-cache"
        cache.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(cache)})
    except OSError:
        pass
    compiled = core.compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()
    shapes = []
    for port in compiled.inputs:
        ps = port.get_partial_shape()
        shapes.append(tuple(d.get_length() if d.is_static else None for d in ps))
    outputs = list(compiled.outputs)

    def run(leaves: list[torch.Tensor]) -> list[torch.Tensor]:
        # the inputs are read in place (the call is synchronous: they outlive it; a 2 MB copy saved per
        # yolov3-tiny call, 0.17 ms of its 13 ms int8 predict); the outputs are copies: the request reuses them
        res = request.infer([_numpy(t) for t in leaves], share_inputs=True)
        return [_tensor(res[o]) for o in outputs]

    return Runner("openvino", path, run, shapes, session=compiled)


def _torchscript(path: Path, precision: str, threads: int | None) -> Runner:
    with warnings.catch_warnings():  # "torch.jit.load is deprecated": the format is what the user asked for
        warnings.simplefilter("ignore")
        module = torch.jit.load(str(path), map_location="cpu").eval()

    def run(leaves: list[torch.Tensor]) -> list[torch.Tensor]:
        with torch.inference_mode():
            return list(module(*leaves))

    return Runner("torchscript", path, run)


def _pt2(path: Path, precision: str, threads: int | None) -> Runner:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.export.load(str(path)).module()

    def run(leaves: list[torch.Tensor]) -> list[torch.Tensor]:
        with torch.inference_mode():
            return list(module(*leaves))

    return Runner("pt2", path, run)
