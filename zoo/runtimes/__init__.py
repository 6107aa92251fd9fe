"""Inference runtimes: export a model's network (what `forward` runs, what the harness times) to ONNX,
OpenVINO IR, TorchScript or a torch.export program, and run it there behind the family's own
preprocess/postprocess.

    from zoo.runtimes import export, with_backend
    res = export(model, "onnx")                       # cached in ZOO_HOME/exports, parity checked
    fast = with_backend(model, "openvino", precision="bf16", threads=2)
    fast.predict("cat.jpg")                           # same results type, the runtime runs the network

Nothing here imports onnx, onnxruntime or openvino until a format or backend that needs it is asked for;
without them the error names `pip install 'cvzoo[runtimes]'`. This module itself imports no torch.
"""

from __future__ import annotations

import difflib
from typing import Any

from zoo.errors import InputError

__all__ = ["BACKENDS", "FORMATS", "PRECISIONS", "ExportResult", "available_backends", "check_backend", "check_format", "check_precision",
           "export", "read_metadata", "with_backend"]

FORMATS = ("onnx", "openvino", "torchscript", "pt2")
BACKENDS = ("torch", "onnxruntime", "openvino", "torchscript", "pt2")
# backend -> the artefact format it runs
BACKEND_FORMAT = {"onnxruntime": "onnx", "openvino": "openvino", "torchscript": "torchscript", "pt2": "pt2"}
# What each backend (and each export format) can run. onnxruntime has no real fp16 or bf16 kernels for
# convolutions on its CPU provider (it would insert casts around fp32 kernels), but int8 ones: a statically
# quantised (QDQ) model. OpenVINO's fp16/bf16 is a compile-time hint (INFERENCE_PRECISION_HINT) over the same
# fp32 IR; its int8 is an IR quantised by NNCF. Both int8s are calibrated on photos (zoo.runtimes.calibration).
# torch, TorchScript and torch.export run the network cast to that dtype (inputs cast in, outputs cast back).
PRECISIONS: dict[str, tuple[str, ...]] = {
    "torch": ("fp32", "fp16", "bf16"),
    "onnxruntime": ("fp32", "int8"),
    "openvino": ("fp32", "bf16", "fp16", "int8"),
    "torchscript": ("fp32", "fp16", "bf16"),
    "pt2": ("fp32", "fp16", "bf16"),
    "onnx": ("fp32", "int8"),
}
ALL_PRECISIONS = ("fp32", "fp16", "bf16", "int8")
# why a backend cannot run int8, in one line (the runtimes that can: onnxruntime and openvino)
NO_INT8 = "int8 is a quantised export: run it with --backend onnxruntime or openvino"
INSTALL_HINT = "pip install 'cvzoo[runtimes]'"

_LAZY = {
    "ExportResult": "zoo.runtimes.exporter:ExportResult",
    "export": "zoo.runtimes.exporter:export",
    "read_metadata": "zoo.runtimes.exporter:read_metadata",
    "with_backend": "zoo.runtimes.backend:with_backend",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, _, attr = _LAZY[name].partition(":")
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zoo.runtimes' has no attribute {name!r}")


def _choice(what: str, value: str, valid: tuple[str, ...]) -> str:
    if value in valid:
        return value
    close = difflib.get_close_matches(str(value), valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise InputError(f"unknown {what} '{value}' (one of: {', '.join(valid)}){hint}")


def available_backends() -> list[str]:
    """The runtime backends (not torch) whose package is installed, without importing it."""
    import importlib.util

    return [b for b, pkg in (("onnxruntime", "onnxruntime"), ("openvino", "openvino"))
            if importlib.util.find_spec(pkg) is not None]


def check_format(fmt: str) -> str:
    """`fmt` when it is an export format; else an InputError with a did-you-mean."""
    return _choice("export format", fmt, FORMATS)


def check_backend(backend: str) -> str:
    """`backend` when it is one; else an InputError with a did-you-mean."""
    return _choice("backend", backend, BACKENDS)


def check_precision(where: str, precision: str) -> str:
    """`precision` when backend or format `where` runs it; else one line naming what it does run."""
    valid = PRECISIONS[where]
    if precision in valid:
        return precision
    if precision not in ALL_PRECISIONS:
        _choice("precision", precision, ALL_PRECISIONS)
    runs = " and ".join([", ".join(valid[:-1]), valid[-1]] if len(valid) > 1 else valid)
    if precision == "int8":
        raise InputError(f"{where} runs {runs}, not int8; {NO_INT8}")
    raise InputError(f"{where} runs {runs}, not {precision} (openvino runs fp32, bf16, fp16 and int8)")
