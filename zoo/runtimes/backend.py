"""`with_backend(model, backend)`: the same ZooModel (class, preprocess, postprocess, predict, label set) whose
`forward` runs an exported artefact in onnxruntime, OpenVINO, TorchScript or torch.export, so every command and
every family's postprocess work unchanged. Outputs come back as torch tensors in the structure the PyTorch
network returns (the pytree spec recorded at export)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch.utils import _pytree as pytree

from zoo.errors import ArgumentError, InputError
from zoo.runtimes import BACKEND_FORMAT, check_backend, check_precision
from zoo.runtimes.runners import DTYPES, Runner, check_cpu_precision, open_runner

__all__ = ["RuntimeForward", "with_backend"]


class RuntimeForward:
    """Stands in for `ZooModel.forward`: flattens the inputs, runs the compiled artefact, rebuilds the outputs.

    One artefact per input size: without a fixed `input_size`, a new size (YOLO's --size 320) exports and
    compiles once more (cached like any export); with one, another size is refused in one line."""

    def __init__(self, model: Any, backend: str, precision: str, threads: int | None, batch: int,
                 dynamic_batch: bool, input_size: tuple[int, int] | None, calibration: Any = None):
        self.model = model  # the PyTorch model: what gets exported
        self.backend, self.fmt = backend, BACKEND_FORMAT[backend]
        self.precision, self.threads = precision, threads
        self.calibration = calibration  # int8's calibration photos (None: the bundled ones)
        self.batch, self.dynamic_batch = batch, dynamic_batch
        self.fixed_size = input_size is not None
        self.input_size = tuple(input_size) if input_size is not None else tuple(model.input_size)
        self.runners: dict[Any, tuple[Runner, Any]] = {}
        self.info: dict[str, Any] = {}

    def _key(self, leaves: list[torch.Tensor]) -> tuple[Any, ...]:
        first = leaves[0]
        hw = tuple(int(d) for d in first.shape[-2:]) if first.ndim == 4 else self.input_size
        if first.ndim == 3:  # a list of CHW images (the R-CNN family): the batch is how many there are
            batch = len(leaves)
        else:
            batch = int(first.shape[0]) if first.ndim else self.batch
        return hw, None if self.dynamic_batch else batch

    def prepare(self, hw: tuple[int, int] | None = None, batch: int | None = None,
                dynamic_batch: bool | None = None) -> tuple[Runner, Any]:
        """Export (or take from the cache) and compile the artefact for input size `hw`."""
        from zoo.runtimes.exporter import export

        hw = tuple(hw or self.input_size)
        dynamic_batch = self.dynamic_batch if dynamic_batch is None else dynamic_batch
        key = (hw, None if dynamic_batch else (batch or self.batch))
        if key in self.runners:
            return self.runners[key]
        if self.fixed_size and hw != self.input_size:
            raise InputError(f"{self.model.spec.name} on {self.backend} was exported for {self.input_size[0]}x"
                             f"{self.input_size[1]} inputs, got {hw[0]}x{hw[1]}; load it with that input size")
        res = export(self.model, self.fmt, precision=self.precision, batch=batch or self.batch,
                     dynamic_batch=dynamic_batch, input_size=hw, calibration=self.calibration)
        runner = open_runner(res.path, self.fmt, self.precision, self.threads)
        runner.input_shapes = [tuple(i["shape"]) for i in res.metadata["inputs"]]
        out_spec = pytree.treespec_loads(res.metadata["out_tree"])
        self.runners[key] = (runner, out_spec)
        self.info = {"backend": self.backend, "format": self.fmt, "precision": self.precision,
                     "threads": self.threads or torch.get_num_threads(), "export_s": res.seconds,
                     "compile_s": runner.compile_s, "cache_hit": res.cached, "artefact": str(res.path),
                     "parity": res.parity, "exporter": res.metadata.get("exporter"), "guard": res.guard,
                     "quantization": res.metadata.get("quantization")}
        return self.runners[key]

    def __call__(self, *args: Any) -> Any:
        if _image_list(args):
            return self._per_image(args[0])
        leaves, _ = pytree.tree_flatten(args)
        if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
            raise InputError(f"{self.model.spec.name} on {self.backend} takes tensors")
        hw, batch = self._key(leaves)
        if not self.dynamic_batch and batch != self.batch:
            raise InputError(f"{self.model.spec.name} on {self.backend} was exported for batch {self.batch}, got "
                             f"{batch}; use dynamic_batch=True (--dynamic-batch) or that batch size")
        runner, out_spec = self.prepare(hw, batch)
        outs = runner([t.float() if t.is_floating_point() else t for t in leaves])
        return pytree.tree_unflatten(outs, out_spec)

    def _per_image(self, images: list[torch.Tensor]) -> list[Any]:
        """A list of CHW images of any sizes (torchvision's detectors, whose resize and batching are inside the
        graph): one batch-1 artefact per image size (exported on first use, cached in ZOO_HOME), run image by
        image; the per-image outputs (a list each) are joined as the network would return them."""
        out: list[Any] = []
        for image in images:
            hw = (int(image.shape[-2]), int(image.shape[-1]))
            runner, out_spec = self.prepare(hw, 1, dynamic_batch=False)
            one = pytree.tree_unflatten(runner([image.float() if image.is_floating_point() else image]), out_spec)
            if not isinstance(one, list):
                raise InputError(f"{self.model.spec.name} on {self.backend}: a list of images needs a network that "
                                 "returns one result per image")
            out.extend(one)
        return out

    def __getstate__(self) -> dict[str, Any]:  # compiled sessions do not pickle; they are rebuilt on demand
        return {**self.__dict__, "runners": {}}


def with_backend(model: Any, backend: str, *, precision: str = "fp32", threads: int | None = None, batch: int = 1,
                 dynamic_batch: bool = True, input_size: tuple[int, int] | None = None,
                 calibration: Any = None) -> Any:
    """`model` running its network on `backend` at `precision` with `threads` CPU threads.

    Returns a shallow copy (it shares the caller's weights; the caller's model stays PyTorch) whose `forward`
    is the runtime, with `.backend` and `.backend_info` (export_s, compile_s, cache_hit, artefact, precision).
    The artefact is exported and compiled here, so errors (an op the format cannot take, a missing runtime)
    surface at load time. backend="torch" at fp32 returns `model` itself; fp16/bf16 cast a copy.
    precision="int8" (onnxruntime, openvino) is calibrated on the photos of folder `calibration` (default:
    the bundled ones); `.backend_info["guard"]` says whether its answers are fp32's."""
    from zoo.model import square_size

    check_backend(backend)
    check_precision(backend, precision)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ArgumentError("threads", f"{{}} must be at least 1, got {threads}")
    if getattr(model, "backend", "torch") != "torch":
        raise InputError(f"{model.spec.name} already runs on {model.backend}: give the PyTorch model")
    if backend == "torch":
        return model if precision == "fp32" else _torch_precision(model, precision, calibration)
    if backend in ("onnxruntime", "openvino"):
        from zoo.runtimes.runners import require

        require(backend)  # missing: one line naming the pip install, before any export
    check_cpu_precision(backend, precision)
    if model.device.type != "cpu":
        raise ArgumentError(("backend", "device"), f"{{}} {backend} runs on the CPU; {model.spec.name} is on "
                                                   f"{model.device} (use {{}} cpu)")
    size = square_size(input_size) if input_size is not None else None
    rt = RuntimeForward(model, backend, precision, threads, batch, dynamic_batch, size, calibration)
    if _image_list(model.example_inputs(1, size)):  # per-image artefacts: the model's own size first
        rt.prepare(size, 1, dynamic_batch=False)
    else:
        rt.prepare()
    fast = copy.copy(model)
    fast.forward = rt  # an instance attribute: nn.Module.__call__ runs it in place of the class's forward
    fast.backend = backend
    fast.backend_info = rt.info
    return fast


def _torch_precision(model: Any, precision: str, calibration: Any = None) -> Any:
    """A copy of `model` whose network runs in fp16/bf16: float inputs cast in, float outputs back to float32
    (what postprocess expects), as the harness's --precision does; guarded like an export (its answers against
    fp32's on the calibration photos, in `.backend_info["guard"]`). When they change, the sensitive modules
    (zoo.runtimes.quantize.sensitive_modules) stay fp32, step by step as an export's fallback."""
    from zoo.runtimes.calibration import calibration_set
    from zoo.runtimes.guard import until_same
    from zoo.runtimes.quantize import sensitive_modules

    cal = calibration_set(calibration)
    fp32_answers: dict[Any, list[Any]] = {}  # torch fp32's answers on the guard's photos: once for every step

    def attempt(step: tuple[int, int] | None) -> tuple[dict[str, Any], tuple[Any, list[str]]]:
        kept = sensitive_modules(model, tuple(model.example_inputs(1)), *step) if step else []
        fast = _cast_copy(model, DTYPES[precision], kept)
        return _guard(model, fast, precision, cal, fp32_answers), (fast, kept)

    guard, (fast, kept) = until_same(attempt)
    if guard:
        guard["fp32_layers"] = kept
    fast.backend_info = {"backend": "torch", "precision": precision, "export_s": 0.0, "compile_s": 0.0,
                         "cache_hit": False, "artefact": None, "guard": guard}
    return fast


def _cast_copy(model: Any, dtype: torch.dtype, keep_fp32: list[str]) -> Any:
    """A copy of `model` in `dtype` but for the modules named in `keep_fp32`, which stay fp32 with their inputs
    cast up and their outputs cast back down."""
    from zoo.runtimes.guard import cast_floats as _cast
    from zoo.runtimes.quantize import cast_keeping_fp32

    fast = cast_keeping_fp32(model, dtype, keep_fp32)
    forward = type(fast).forward.__get__(fast)

    def run(*args: Any) -> Any:
        return _cast(forward(*_cast(args, dtype)), torch.float32)

    fast.forward = run
    fast.backend = "torch"
    return fast


def _guard(model: Any, fast: Any, precision: str, cal: Any,
           fp32_answers: dict[Any, list[Any]] | None = None) -> dict[str, Any]:  # tests force its verdicts here
    from zoo.runtimes.guard import guarded

    return guarded(model, fast, precision, cal, fp32_answers)


def _image_list(args: tuple[Any, ...]) -> bool:
    """Whether the network is called with one list of CHW images (and nothing else)."""
    return (len(args) == 1 and isinstance(args[0], list) and bool(args[0])
            and all(isinstance(t, torch.Tensor) and t.ndim == 3 for t in args[0]))
