"""`export(model, fmt)`: a ZooModel's network (its `forward`) as an ONNX / OpenVINO / TorchScript / torch.export
artefact with the model's metadata embedded, checked against PyTorch, cached in ZOO_HOME/exports.

Cache layout: ZOO_HOME/exports/<model>/<format>-<precision>-<key>/{model.<ext>, export.json}; the key hashes the
model name, the weights' tensors, format, precision, batch, dynamic batch, input shapes and the torch / zoo /
runtime versions, so any change re-exports. export.json records each file's sha256: a corrupt artefact is
detected and exported again.

Inputs and outputs are flattened with torch's pytree (lists, tuples, dicts of tensors): the artefact takes and
returns flat tensors, and the tree specs recorded in its metadata rebuild the structure `forward` returns.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import errno
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree

from zoo.errors import ArgumentError, ExportError, InputError, disk_error, first_line
from zoo.fsutil import replace_folder, sha256_file
from zoo.runtimes import check_format, check_precision
from zoo.runtimes.cache import MANIFEST  # export.json: one name, shared with `zoo cache ls --exports`
from zoo.runtimes.calibration import CalibrationSet, calibration_samples, calibration_set, image_leaves
from zoo.runtimes.guard import FP32_FALLBACKS, JUDGED_ON, until_same
from zoo.runtimes.quantize import cast_keeping_fp32
from zoo.runtimes.runners import DTYPES, check_cpu_precision, open_runner, require

__all__ = ["ExportResult", "export", "read_metadata", "weights_sha256"]

CACHE_VERSION = 1  # bump when the layout of artefacts or their metadata changes
OPSET = 18  # opset of both ONNX exporters here; OpenVINO 2024+ and onnxruntime 1.16+ read it
RUNTIME_MODULES = {"onnx": ("onnx", "onnxscript"), "openvino": ("onnx", "onnxscript", "openvino"), "torchscript": (),
                   "pt2": ()}
CHECK_MODULES = {"onnx": ("onnxruntime",)}  # what the parity check runs the artefact with
FILE_NAMES = {"onnx": "model.onnx", "openvino": "model.xml", "torchscript": "model.torchscript.pt", "pt2": "model.pt2"}
TORCH_FORMATS = ("torchscript", "pt2")  # traced from the torch network itself (in its dtype), not from the ONNX export
META_KEY = "zoo.json"  # the file name of the metadata inside TorchScript / torch.export archives


@dataclass
class ExportResult:
    """One exported artefact: where, how long it took (0 on a cache hit: instant), its parity with PyTorch
    (max abs difference on a random input and on a real image; empty with check=False), its metadata and,
    for fp16/bf16/int8, the accuracy guard (zoo.runtimes.guard: same answers as fp32 on the calibration photos)."""

    path: Path
    format: str
    sha256: str
    seconds: float
    cached: bool
    parity: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    guard: dict[str, Any] = field(default_factory=dict)  # reduced precisions: the task's answers against fp32

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["path"] = str(self.path)
        return out


class FlatNet(nn.Module):
    """`model.forward` over flat tensors: the inputs' tree is rebuilt inside, the outputs' flattened, so every
    exporter sees tensors in and a tuple of tensors out. With `dtype` the model runs in it (a cast copy) and
    float outputs come back as float32, so the artefact takes what preprocess makes."""

    def __init__(self, model: nn.Module, in_spec: Any, dtype: torch.dtype | None = None):
        super().__init__()
        self.model = model
        self.in_spec = in_spec
        self.dtype = dtype
        # a new Module is in training mode, and torch.onnx.export(dynamo=False) restores the wrapper's mode
        # recursively after exporting: without this the caller's model came back in training mode
        self.train(model.training)

    def forward(self, *leaves: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.dtype is not None:
            leaves = tuple(t.to(self.dtype) if t.is_floating_point() else t for t in leaves)
        args = pytree.tree_unflatten(list(leaves), self.in_spec)
        out = self.model(*args)
        flat = pytree.tree_leaves(out)
        return tuple(t.float() if t.is_floating_point() else t for t in flat)


def weights_sha256(model: nn.Module) -> str:
    """sha256 over the network's tensors (names, shapes, dtypes, bytes): what the artefact was made from,
    whichever file (or random init) the weights came from. resnet50 hashes in ~0.05 s."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _versions(fmt: str) -> dict[str, str]:
    from zoo.version import __version__

    out = {"torch": torch.__version__, "zoo": __version__}
    if fmt in ("onnx", "openvino"):
        out["onnx"] = require("onnx").__version__
    if fmt == "openvino":
        out["openvino"] = require("openvino").__version__
    return out


def _leaves(model: Any, batch: int, input_size: tuple[int, int] | None) -> tuple[list[torch.Tensor], Any]:
    from zoo.model import square_size

    size = square_size(input_size) if input_size is not None else None
    with torch.inference_mode():
        inputs = model.example_inputs(batch, size)
    leaves, spec = pytree.tree_flatten(tuple(inputs))
    if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
        raise ExportError(f"{model.spec.name}: forward takes non-tensor inputs; it cannot be exported")
    return [t.clone() for t in leaves], spec


def _input_spec(model: Any, leaves: list[torch.Tensor]) -> dict[str, Any]:
    inp = model.spec.input
    # the size exported (--size 192), not the spec's default: an image batch's HxW
    size = list(leaves[0].shape[-2:]) if len(leaves) == 1 and leaves[0].ndim == 4 else list(inp.size)
    return {"size": [int(v) for v in size], "scale": inp.scale, "mean": list(inp.mean) if inp.mean else None,
            "std": list(inp.std) if inp.std else None, "resize": inp.resize, "resize_size": inp.resize_size}


def _labels(model: Any) -> list[str] | None:
    if not model.spec.categories:
        return None
    try:
        from zoo.categories import categories, coco_class

        labels = tuple(categories(model.spec.categories, model.registry))
    except Exception:
        return None
    # the names predictions use: COCO classes by their canonical names (Darknet's 'motorbike' is 'motorcycle')
    return [(coco_class(labels, i) or (0, name))[1] for i, name in enumerate(labels)]


def _shape_spec(leaves: list[torch.Tensor], dynamic_batch: bool) -> list[list[int | None]]:
    return [[None if (dynamic_batch and i == 0) else int(d) for i, d in enumerate(t.shape)] for t in leaves]


def _metadata(model: Any, fmt: str, precision: str, batch: int, dynamic_batch: bool, leaves: list[torch.Tensor],
              in_spec: Any, out_spec: Any, wsha: str, exporter: str) -> dict[str, Any]:
    spec = model.spec
    return {
        "cvzoo_export": CACHE_VERSION, "name": spec.name, "family": spec.family, "task": spec.task,
        "weights": model.weights_source, "weights_sha256": wsha, "format": fmt, "precision": precision,
        "batch": "dynamic" if dynamic_batch else batch,
        "inputs": [{"name": f"input_{i}", "shape": s, "dtype": str(t.dtype).replace("torch.", "")}
                   for i, (s, t) in enumerate(zip(_shape_spec(leaves, dynamic_batch), leaves))],
        "input_spec": _input_spec(model, leaves), "categories": spec.categories, "labels": _labels(model),
        "in_tree": pytree.treespec_dumps(in_spec), "out_tree": pytree.treespec_dumps(out_spec),
        "exporter": exporter, **_versions(fmt),
    }


# ------------------------------------------------------------------ the cache
def cache_dir(name: str, fmt: str, precision: str, key: str) -> Path:
    from zoo.paths import safe_part, zoo_home

    return zoo_home() / "exports" / safe_part(name, "model name") / f"{fmt}-{precision}-{key[:16]}"


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _files_of(path: Path, fmt: str) -> list[Path]:
    return [path, path.with_suffix(".bin")] if fmt == "openvino" else [path]


def _record(path: Path, fmt: str) -> dict[str, Any]:
    return {p.name: {"sha256": sha256_file(p), "stat": _stat(p)} for p in _files_of(path, fmt)}


def _intact(folder: Path, manifest: dict[str, Any]) -> bool:
    """Every file is there with its recorded sha256 (re-hashed only when its size or mtime changed)."""
    for fname, rec in manifest.get("files", {}).items():
        p = folder / fname
        if not p.is_file():
            return False
        if _stat(p) != rec["stat"] and sha256_file(p) != rec["sha256"]:
            return False
    return bool(manifest.get("files"))


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------ exporters
def _quiet() -> contextlib.ExitStack:
    """Exporters print progress to stdout and warn at length: keep stdout for results (`--json`)."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    # torch.export logs the whole graph (thousands of lines) when it refuses a network, through handlers that
    # hold the real stderr: silence those loggers while exporting (the refusal is reported in one line anyway)
    for name in ("torch", "torch.export", "torch._export", "torch._dynamo", "torch.onnx", "torch.fx"):
        logger = logging.getLogger(name)
        stack.callback(logger.setLevel, logger.level)
        stack.callback(setattr, logger, "disabled", logger.disabled)
        logger.setLevel(logging.CRITICAL + 1)
        logger.disabled = True
    return stack


def _reason(exc: BaseException) -> str:
    """The op an exporter refused when its message names one, else the first line of its message."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the dynamo exporter colours its report
    m = re.search(r"\b(aten(?:::|\.)[A-Za-z_][\w.]*)", text) or re.search(r"operator '([\w:.]+)'", text)
    if m:
        return f"{m.group(1).rstrip('.')} is not supported ({type(exc).__name__})"
    line = re.sub(r"\x1b\[[0-9;]*m", "", first_line(exc, with_type=True))
    return line if len(line) <= 200 else line[:197] + "..."


def _dynamic_shapes(leaves: list[torch.Tensor], dynamic_batch: bool) -> Any:
    if not dynamic_batch:
        return None
    batch = torch.export.Dim("batch", min=1, max=4096)
    return (tuple({0: batch} for _ in leaves),)  # FlatNet.forward(*leaves): one varargs entry


def _onnx_export(flat: FlatNet, leaves: list[torch.Tensor], path: Path, dynamic_batch: bool, n_out: int) -> str:
    """torch.export-based ONNX first (dynamo=True), the TorchScript-based exporter (dynamo=False) as fallback.

    Both were tried on resnet18 and yolov3-tiny: on resnet18 both match PyTorch (6e-7), but the TorchScript one
    silently gave yolov3-tiny wrong box sizes in 5 exports of 6 (differences of hundreds of pixels, varying
    from run to run: the anchors that YoloLayer builds with torch.tensor() inside forward get baked as the wrong
    constants), while dynamo was right 6 of 6. It is slower (1.5 s against 0.4 s for yolov3-tiny) but it is
    correct. The TorchScript exporter stays as the fallback for networks torch.export refuses (data-dependent
    control flow, e.g. torchvision's detection post-processing); the parity check guards either way."""
    names_in = [f"input_{i}" for i in range(len(leaves))]
    names_out = [f"output_{i}" for i in range(n_out)]
    errors = []
    with _quiet():
        try:
            require("onnxscript")
            torch.onnx.export(flat, tuple(leaves), str(path), dynamo=True, opset_version=OPSET,
                              input_names=names_in, output_names=names_out,
                              dynamic_shapes=_dynamic_shapes(leaves, dynamic_batch), external_data=False)
            return "torch.onnx.export(dynamo=True)"
        except Exception as e:  # an exporter's failure is data here: try the other, then name the op
            if type(e).__name__ == "RuntimeMissingError":
                raise
            errors.append(e)
        try:
            torch.onnx.export(flat, tuple(leaves), str(path), dynamo=False, opset_version=OPSET,
                              input_names=names_in, output_names=names_out, do_constant_folding=True,
                              dynamic_axes={n: {0: "batch"} for n in names_in} if dynamic_batch else None)
            return "torch.onnx.export(dynamo=False)"
        except Exception as e:
            errors.append(e)
    raise ExportError(f"the network cannot be exported to ONNX: {_reason(errors[0])}")


def _embed_onnx(path: Path, meta: dict[str, Any]) -> None:
    onnx = require("onnx")
    m = onnx.load(str(path))
    del m.metadata_props[:]
    for k, v in meta.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, json.dumps(v)
    onnx.save(m, str(path))


@dataclass
class KeptFp32:
    """What a reduced-precision artefact keeps in fp32 (the accuracy guard's fallback `step`): ONNX node names,
    or torch module names for the formats traced from the torch network."""

    layers: list[str] = field(default_factory=list)  # weighted layers (Conv, Gemm, MatMul)
    ops: list[str] = field(default_factory=list)  # the other ops kept with them (a detector's decoding)
    step: tuple[int, int] | None = None  # (depth, first) of zoo.runtimes.quantize.sensitive_layers

    @property
    def names(self) -> list[str]:
        return self.layers + self.ops

    @classmethod
    def at(cls, onnx_file: Path | None, step: tuple[int, int] | None) -> KeptFp32:
        """ONNX node names (int8, OpenVINO's bf16/fp16: what a quantiser or the IR sees)."""
        from zoo.runtimes.quantize import sensitive_layers

        return cls(*sensitive_layers(onnx_file, *step), step) if step and onnx_file is not None else cls()

    @classmethod
    def in_torch(cls, model: nn.Module, leaves: list[torch.Tensor], in_spec: Any,
                 step: tuple[int, int] | None) -> KeptFp32:
        """torch module names (TorchScript's and torch.export's fp16/bf16: the cast copy they trace)."""
        if not step:
            return cls()
        from zoo.runtimes.quantize import sensitive_modules

        args = pytree.tree_unflatten([t.clone() for t in leaves], in_spec)
        return cls(sensitive_modules(model, args, *step), [], step)


@dataclass
class Int8Job:
    """What an int8 export quantises with: the calibration inputs."""

    calibration: CalibrationSet
    samples: list[list[torch.Tensor]]

    def describe(self, fmt: str, kept: KeptFp32) -> dict[str, Any]:
        from zoo.runtimes.quantize import PRESET, tool_name

        return {"tool": tool_name(fmt), "preset": PRESET, "calibration": self.calibration.describe(),
                "fp32_layers": list(kept.layers), "fp32_ops": len(kept.ops)}


def _onnx_exporter(onnx_file: Path) -> str:
    """The exporter recorded in a cached ONNX export's metadata."""
    return json.loads(next(p.value for p in require("onnx").load(str(onnx_file), load_external_data=False)
                           .metadata_props if p.key == "exporter"))


def _export_int8(fmt: str, path: Path, onnx_file: Path, job: Int8Job, kept: KeptFp32, meta_of: Any) -> dict[str, Any]:
    """`onnx_file` (the cached fp32 ONNX export) quantised to int8 for `fmt` at `path`, metadata embedded."""
    from zoo.runtimes.quantize import quantize_onnx, quantize_openvino

    meta = {**meta_of(f"{_onnx_exporter(onnx_file)} -> int8"), "quantization": job.describe(fmt, kept)}
    if fmt == "onnx":
        quantize_onnx(onnx_file, path, job.samples, kept.names)
        _embed_onnx(path, meta)
        return meta
    _save_openvino(quantize_openvino(onnx_file, job.samples, kept.names), path, meta)
    return meta


def _save_openvino(model: Any, path: Path, meta: dict[str, Any]) -> None:
    for k, v in meta.items():
        model.set_rt_info(json.dumps(v), ["zoo", k])
    require("openvino").save_model(model, str(path), compress_to_fp16=False)


def _export_file(fmt: str, flat: FlatNet, leaves: list[torch.Tensor], path: Path, dynamic_batch: bool,
                 n_out: int, meta_of: Any, onnx_file: Path | None = None, int8: Int8Job | None = None,
                 kept: KeptFp32 | None = None) -> dict[str, Any]:
    """Write the artefact of `fmt` at `path` with its metadata (`meta_of(exporter)` builds it); OpenVINO
    converts `onnx_file` (the cached ONNX export of the same network and options), int8 quantises it;
    the nodes of `kept` stay fp32 (int8: left unquantised; OpenVINO bf16/fp16: marked for the CPU plugin)."""
    kept = kept or KeptFp32()
    if int8 is not None:
        assert onnx_file is not None
        return _export_int8(fmt, path, onnx_file, int8, kept, meta_of)
    if fmt == "onnx":
        exporter = _onnx_export(flat, leaves, path, dynamic_batch, n_out)
        meta = meta_of(exporter)
        _embed_onnx(path, meta)
        return meta
    if fmt == "openvino":
        ov = require("openvino")
        assert onnx_file is not None
        meta = meta_of(f"{_onnx_exporter(onnx_file)} -> openvino.convert_model")
        try:
            with _quiet():
                model = ov.convert_model(str(onnx_file))
        except Exception as e:
            raise ExportError(f"OpenVINO cannot convert the network: {_reason(e)}") from None
        if kept.names:  # bf16/fp16 is a compile-time hint: the IR says which nodes the hint leaves alone
            from zoo.runtimes.quantize import keep_fp32_openvino

            keep_fp32_openvino(model, kept.names)
            meta["fp32_marked"] = list(kept.layers)  # asked for; the guard says which the CPU plugin honoured
        _save_openvino(model, path, meta)
        return meta
    if fmt == "torchscript":
        try:
            with _quiet(), torch.no_grad():
                traced = torch.jit.trace(flat, tuple(leaves), check_trace=False, strict=False)
        except Exception as e:
            raise ExportError(f"the network cannot be traced to TorchScript: {_reason(e)}") from None
        meta = meta_of("torch.jit.trace")
        torch.jit.save(traced, str(path), _extra_files={META_KEY: json.dumps(meta)})
        return meta
    try:
        with _quiet():
            program = torch.export.export(flat, tuple(leaves), dynamic_shapes=_dynamic_shapes(leaves, dynamic_batch))
    except Exception as e:
        raise ExportError(f"torch.export cannot take the network: {_reason(e)}") from None
    meta = meta_of("torch.export.export")
    torch.export.save(program, str(path), extra_files={META_KEY: json.dumps(meta)})
    return meta


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata embedded in an artefact written by `export` (by suffix: .onnx, .xml, .pt2, else TorchScript)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if path.suffix == ".onnx":
            m = require("onnx").load(str(path), load_external_data=False)
            return {p.key: json.loads(p.value) for p in m.metadata_props}
        if path.suffix == ".xml":
            model = require("openvino").Core().read_model(str(path))
            if not model.has_rt_info(["zoo"]):
                return {}
            info = model.get_rt_info()["zoo"]  # a dict of OVAny in openvino 2025+
            info = info.astype(dict) if hasattr(info, "astype") else info
            return {k: json.loads(v.astype(str) if hasattr(v, "astype") else str(v)) for k, v in info.items()}
        extra = {META_KEY: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if path.suffix == ".pt2":
                torch.export.load(str(path), extra_files=extra)
            else:
                torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        return json.loads(extra[META_KEY]) if extra[META_KEY] else {}
    except (InputError, ExportError):
        raise
    except Exception as e:
        if type(e).__name__ == "RuntimeMissingError":
            raise
        raise InputError(f"{path}: not a readable exported model ({first_line(e, with_type=True)})") from None


# ------------------------------------------------------------------ parity


class ParityError(ExportError):
    """The artefact answers differently from PyTorch past the tolerance (`zoo export` alone can skip the check:
    its caller adds the --no-check advice; `--backend` runs never keep such an artefact)."""


def check_parity(model: Any, path: Path, fmt: str, precision: str, leaves: list[torch.Tensor], in_spec: Any,
                 image: Any = None, threads: int | None = None) -> dict[str, float]:
    """Max abs difference between PyTorch (fp32) and the artefact on `leaves` and on a real image;
    over the precision's tolerance (zoo.tasks.parity.OUTPUTS) -> ExportError, one line. int8 is recorded only:
    8-bit codes move raw outputs by design, its answers are judged by the guard (zoo.runtimes.guard)."""
    from zoo.tasks.parity import compare_outputs, output_tolerance

    tol = output_tolerance(precision)
    runner = open_runner(path, fmt, precision, threads)
    cases = {"random": leaves}
    img = image_leaves(model, image, leaves)
    if img is not None:
        cases["image"] = img
    out: dict[str, float] = {}
    for what, inp in cases.items():
        with torch.inference_mode():
            raw = model(*pytree.tree_unflatten([t.clone() for t in inp], in_spec))
        ref = [t.float() if t.is_floating_point() else t for t in pytree.tree_leaves(raw)]
        got = runner.run([t.clone() for t in inp])
        agree = compare_outputs(ref, got, atol=tol.atol, rtol=tol.rtol)
        if not agree.same and (precision != "int8" or not math.isfinite(agree.metrics["max_abs"])):
            diff = agree.metrics["max_abs"]
            why = (f"differs from PyTorch by {diff:.3g} on the {what} input (tolerance {agree.metrics['allowed']:.3g})"
                   if diff != float("inf") else f"differs from PyTorch on the {what} input: {agree.summary}")
            raise ParityError(f"{model.spec.name} as {fmt} {precision} {why}")
        out[what] = agree.metrics["max_abs"]
    return out


# ------------------------------------------------------------------ export
def export(model: Any, fmt: str, out: Path | None = None, *, precision: str = "fp32", batch: int = 1,
           dynamic_batch: bool = False, input_size: tuple[int, int] | None = None, check: bool = True,
           image: Any = None, calibration: str | Path | None = None) -> ExportResult:
    """Export `model`'s network to `fmt`. `out=None` uses the ZOO_HOME/exports cache (a hit is instant, a
    corrupt entry is exported again); `out` writes that file (atomically) and caches nothing.

    `check` runs PyTorch and the artefact on a random input and on `image` (default: the bundled sample
    photo) through the model's own preprocess; a difference over the format's tolerance is an ExportError.
    For fp16/bf16/int8 it also runs the accuracy guard: the task's answers of the artefact against PyTorch
    fp32's on the `calibration` photos (default: the bundled ones); when int8 changes them, the first layer
    and the layers nearest the outputs are kept in fp32 and the network quantised again. An artefact that
    still changes answers is kept (asked for) and says so in `.guard`.

    int8 quantises the fp32 ONNX export (cached), calibrated on the `calibration` photos through the
    model's own preprocess: NNCF for openvino, onnxruntime's static QDQ quantiser for onnx."""
    from zoo.model import ZooModel

    check_format(fmt)
    check_precision(fmt, precision)
    for module in RUNTIME_MODULES[fmt] + (CHECK_MODULES.get(fmt, ()) if check else ()):
        require(module)  # a missing runtime is said before minutes of exporting, not after
    check_cpu_precision("openvino" if fmt == "openvino" else "torch", precision)
    if precision == "int8":
        require("nncf" if fmt == "openvino" else "onnxruntime.quantization")
    cal = calibration_set(calibration) if precision != "fp32" else None  # a bad folder: one line, first
    if not isinstance(model, ZooModel):
        raise InputError(f"export takes a ZooModel, got {type(model).__name__}")
    if getattr(model, "backend", "torch") != "torch":
        raise InputError(f"{model.spec.name} already runs on {model.backend}: export the PyTorch model")
    if getattr(model, "export_refusal", None):  # a family's own one line: why its forward cannot be one graph
        raise ExportError(f"{model.spec.name}: {model.export_refusal}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ArgumentError("batch", f"{{}} must be at least 1, got {batch}")
    if model.device.type != "cpu":
        raise InputError(f"{model.spec.name} is on {model.device}: export runs on the CPU (load with device='cpu')")
    model.eval()
    trace_batch = max(batch, 2) if dynamic_batch else batch  # a size-1 example would pin the batch dim to 1
    leaves, in_spec = _leaves(model, trace_batch, input_size)
    start = time.perf_counter()
    wsha = weights_sha256(model)
    key_fields = {"v": CACHE_VERSION, "model": model.spec.name, "weights": wsha, "label": model.weights_source,
                  "format": fmt, "precision": precision, "batch": "dynamic" if dynamic_batch else batch,
                  "inputs": [list(t.shape[1:]) for t in leaves], **_versions(fmt)}
    if precision != "fp32":  # the layers kept fp32 (fallback) depend on the photos the guard judged and the order
        key_fields.update(calibration=cal.sha256, fallbacks=[list(f) for f in FP32_FALLBACKS], judged_on=JUDGED_ON)
    if precision == "int8":  # another quantiser or preset is another artefact
        from zoo.runtimes.quantize import PRESET, tool_name

        key_fields.update(quantizer=tool_name(fmt), preset=PRESET)
    key = hashlib.sha256(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()
    folder = cache_dir(model.spec.name, fmt, precision, key) if out is None else None
    if folder is not None:
        hit = _cache_hit(folder, fmt, model, precision, leaves, in_spec, check, image, start, cal)
        if hit is not None:
            return hit
    try:
        with torch.inference_mode():
            ref_out = model(*pytree.tree_unflatten([t.clone() for t in leaves], in_spec))
    except RuntimeError as e:  # torch refusing the size (YOLO's 100x100): named as such, not a traceback
        from zoo.model import size_error

        err = size_error(model.spec.name, leaves, e)
        if err is None:
            raise
        raise err from None
    out_leaves, out_spec = pytree.tree_flatten(ref_out)
    if not all(isinstance(t, torch.Tensor) for t in out_leaves):
        raise ExportError(f"{model.spec.name}: forward returns non-tensor values; it cannot be exported")
    net = model if precision == "fp32" or fmt in ("onnx", "openvino") else copy.deepcopy(model).to(DTYPES[precision])
    flat = FlatNet(net, in_spec, None if precision == "fp32" or fmt in ("onnx", "openvino") else DTYPES[precision])

    def meta_of(exporter: str) -> dict[str, Any]:
        return _metadata(model, fmt, precision, batch, dynamic_batch, leaves, in_spec, out_spec, wsha, exporter)

    # the photos decoded first: a broken one is said before the fp32 export
    int8 = Int8Job(cal, calibration_samples(model, cal, leaves)) if precision == "int8" else None
    onnx_file = None
    if fmt == "openvino" or precision == "int8":  # from the (cached) fp32 ONNX export: exported once
        onnx_file = export(model, "onnx", batch=batch, dynamic_batch=dynamic_batch, input_size=input_size,
                           check=False).path
    target_dir = folder.parent if folder is not None else Path(out).expanduser().resolve().parent
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-export-", dir=target_dir))
    except OSError as e:
        raise (disk_error(e, target_dir, "set ZOO_HOME (or --out) to a writable folder") or e) from None
    try:
        path = staging / FILE_NAMES[fmt]
        fp32_answers: dict[Any, list[Any]] = {}  # torch fp32's answers on the guard's photos: once for every step

        def attempt(step: tuple[int, int] | None) -> tuple[dict[str, Any], tuple[dict[str, Any], dict[str, float],
                                                                                   KeptFp32]]:
            if fmt in TORCH_FORMATS:  # the kept modules stay fp32 in the cast copy that is traced
                kept = KeptFp32.in_torch(model, leaves, in_spec, step)
                net = flat if not kept.layers else FlatNet(cast_keeping_fp32(model, DTYPES[precision], kept.layers),
                                                           in_spec, DTYPES[precision])
            else:
                kept, net = KeptFp32.at(onnx_file, step), flat
            try:
                with warnings.catch_warnings():  # deprecations of the formats themselves (torch.jit.save) are noise
                    warnings.simplefilter("ignore")
                    meta = _export_file(fmt, net, leaves, path, dynamic_batch, len(out_leaves), meta_of,
                                        onnx_file, int8, kept)
            except ExportError as e:
                raise ExportError(f"{model.spec.name}: {e}") from None
            parity = check_parity(model, path, fmt, precision, leaves, in_spec, image) if check else {}
            guard = _guard(model, path, fmt, precision, meta, cal, fp32_answers) if check and cal is not None else {}
            return guard, (meta, parity, kept)

        # every reduced precision whose answers differ is made again with the sensitive layers in fp32 (int8: left
        # unquantised; OpenVINO's bf16/fp16: marked for the hint to leave alone; TorchScript's and torch.export's:
        # modules left fp32 in the traced cast copy), step by step (FP32_FALLBACKS)
        guard, (meta, parity, kept) = until_same(attempt, FP32_FALLBACKS if precision != "fp32" else ())
        if guard and precision != "fp32":
            guard["fp32_layers"] = _fp32_layers(path, fmt, precision, kept)
            if len(guard["fp32_layers"]) < len(kept.layers):  # marked, but rebuilt in bf16 by the CPU plugin
                guard["fp32_refused"] = [n for n in kept.layers if n not in guard["fp32_layers"]]
        seconds = time.perf_counter() - start
        files = _record(path, fmt)
        if folder is None:
            final = _place(path, fmt, Path(out).expanduser())
        else:
            (staging / MANIFEST).write_text(json.dumps({"key": key_fields, "files": files, "metadata": meta,
                                                        "parity": parity, "guard": guard, "seconds": seconds}))
            final = _install(staging, folder) / FILE_NAMES[fmt]
            if model.weights_source == RANDOM_INIT:
                prune_random_init(folder)
            manifest = _read_manifest(folder) or {}  # another rank's copy, when it won the race
            files, meta = manifest.get("files", files), manifest.get("metadata", meta)
        return ExportResult(final, fmt, files[path.name]["sha256"], seconds, False, parity, meta, guard)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


RANDOM_INIT = "random init"  # ZooModel.weights_source of a model without loaded weights
RANDOM_KEEP_S = 600  # a random-init entry younger than this may still be in use by another process


def prune_random_init(keep: Path) -> list[Path]:
    """Remove the other random-init entries of `keep`'s model, format and precision older than RANDOM_KEEP_S.

    Random weights differ in every process, so their exports are never hit again (`zoo bench --backend` on a
    model without weights would otherwise leave one artefact per run in ZOO_HOME); returns what was removed."""
    prefix = keep.name.rsplit("-", 1)[0] + "-"
    now, gone = time.time(), []
    for other in keep.parent.iterdir():
        if other == keep or not other.is_dir() or not other.name.startswith(prefix):
            continue
        manifest = _read_manifest(other)
        if manifest is None or manifest.get("key", {}).get("label") != RANDOM_INIT:
            continue
        try:
            if now - other.stat().st_mtime < RANDOM_KEEP_S:
                continue
        except OSError:
            continue
        shutil.rmtree(other, ignore_errors=True)
        gone.append(other)
    return gone


def _install(staging: Path, folder: Path) -> Path:
    """Move a finished export into place. A corrupt entry there is replaced; an intact one that another
    process (another torchrun rank) finished meanwhile is kept, and this copy dropped."""
    for _ in range(3):
        if folder.exists():
            manifest = _read_manifest(folder)
            if manifest is not None and _intact(folder, manifest):
                return folder
        try:
            replace_folder(staging, folder)
            return folder
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise (disk_error(e, folder.parent, "set ZOO_HOME to a writable folder") or e) from None
    raise ExportError(f"{folder}: could not be replaced (another process keeps writing it)")


def _cache_hit(folder: Path, fmt: str, model: Any, precision: str, leaves: list[torch.Tensor], in_spec: Any,
               check: bool, image: Any, start: float, cal: CalibrationSet | None = None) -> ExportResult | None:
    manifest = _read_manifest(folder)
    if manifest is None or not _intact(folder, manifest):
        return None
    path = folder / FILE_NAMES[fmt]
    parity, guard = manifest.get("parity") or {}, manifest.get("guard") or {}
    if check and precision != "fp32" and not guard:
        return None  # cached by a --no-check export: make it again with the guard (and its fp32 fallback)
    # guarded on other photos, or not at all (the guard could not run then: no verdict to keep)
    stale = check and cal is not None and (guard.get("images_sha256") != cal.sha256 or not guard.get("ran", True))
    if (check and not parity) or stale:  # cached by a --no-check export, or stale: once
        from zoo.fsutil import write_json_atomic

        if not parity:
            parity = manifest["parity"] = check_parity(model, path, fmt, precision, leaves, in_spec, image)
        if stale:
            fp32_layers = guard.get("fp32_layers")
            guard = manifest["guard"] = _guard(model, path, fmt, precision, manifest["metadata"], cal)
            if fp32_layers is not None:
                guard["fp32_layers"] = fp32_layers
        write_json_atomic(folder / MANIFEST, manifest)
    return ExportResult(path, fmt, manifest["files"][path.name]["sha256"], time.perf_counter() - start, True,
                        parity if check else {}, manifest["metadata"], guard if check else {})


def _fp32_layers(path: Path, fmt: str, precision: str, kept: KeptFp32) -> list[str]:
    """The layers of `kept` the artefact runs in fp32: all of them for int8 (NNCF and ORT leave them alone);
    for OpenVINO's bf16/fp16 those the CPU plugin reports running in f32 (zoo.runtimes.quantize.fp32_at_runtime)."""
    if precision == "int8" or fmt in TORCH_FORMATS or not kept.layers:  # kept by construction
        return list(kept.layers)
    from zoo.runtimes.quantize import fp32_at_runtime

    return fp32_at_runtime(open_runner(path, fmt, precision).session, kept.layers)


def _guard(model: Any, path: Path, fmt: str, precision: str, meta: dict[str, Any],
           cal: CalibrationSet | None, fp32_answers: dict[Any, list[Any]] | None = None) -> dict[str, Any]:
    from zoo.runtimes.guard import guard, verdict

    return verdict(lambda: guard(model, path, fmt, precision, meta, cal, fp32_answers=fp32_answers), cal, precision)


def placed_paths(fmt: str, out: Path) -> list[Path]:
    """The files an export to `out` writes (a folder: <out>/model.<ext>; OpenVINO: the .xml and its .bin)."""
    out = Path(out).expanduser()
    if out.is_dir():
        out = out / FILE_NAMES[fmt]
    if fmt == "openvino" and out.suffix != ".xml":
        out = out.with_suffix(".xml")
    if not out.suffix:  # read_metadata (and people) tell the formats apart by it
        out = out.with_name(out.name + Path(FILE_NAMES[fmt]).suffix)
    return _files_of(out, fmt)


def _place(path: Path, fmt: str, out: Path) -> Path:
    """Move the staged artefact to `out` (a folder: <out>/model.<ext>); OpenVINO's .bin goes beside its .xml."""
    out = placed_paths(fmt, out)[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "openvino":
        os.replace(path.with_suffix(".bin"), out.with_suffix(".bin"))
    os.replace(path, out)
    return out
