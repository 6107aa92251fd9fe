"""The accuracy guard of a reduced-precision artefact (fp16, bf16, int8): the task's own answers of the
artefact against PyTorch fp32's on the calibration photos and held-out views of them (mirrored, centre 80%:
inputs the calibration never saw), judged by the one comparison of results in zoo.tasks.parity (top-1/top-5
for classifiers, the same detections above the threshold for detectors, ...)."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils import _pytree as pytree

from zoo.runtimes.calibration import HELD_OUT_VIEWS, CalibrationSet, GuardInput, PhotoError
from zoo.runtimes.runners import open_runner

__all__ = ["FP32_FALLBACKS", "JUDGED_ON", "Guard", "autocast_copy", "autocast_guard", "cast_floats", "guard",
           "guard_models", "guarded", "judged_on", "run_artefact", "until_same", "verdict"]

# the fallbacks of a reduced precision that changes answers, tried in order until the guard passes: (depth, first)
# of zoo.runtimes.quantize.sensitive_layers / sensitive_modules, the weighted layers nearest the outputs and from
# the input kept fp32. The first three alone are what yolov3-tiny needed on the shared photos with NNCF's 7-bit
# first-layer weights (the heads alone, up to depth 3, were not; with its heads kept too it also passed, ~1 ms
# slower); with full 8-bit weights (CPUs with VNNI, zoo.runtimes.quantize.overflow_fix) it needs none. More
# would give back the speed.
FP32_FALLBACKS = ((1, 1), (0, 3), (1, 3), (2, 3), (3, 3))
# what the guard judges on, for the export cache key: a guarded artefact from another rule is guarded again
JUDGED_ON = "photos, " + ", ".join(HELD_OUT_VIEWS)


@dataclass
class Guard:
    """Whether the answers stayed the same on `images` inputs (the photos and their held-out views; `held_out`
    of them views), in one line (`summary`), and what changed."""

    same: bool
    summary: str
    images: int
    images_sha256: str
    precision: str
    mismatches: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    ran: bool = True  # False: the comparison could not run (summary says why)
    held_out: int = 0  # inputs the calibration never saw (views of its photos)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def judged_on(guard: dict[str, Any]) -> str:
    """What a guard (JSON) compared, for people: "4 photos and 8 held-out views of them"."""
    held = int(guard.get("held_out", 0))
    photos = int(guard.get("images", 0)) - held
    return f"{photos} photo{'s' if photos != 1 else ''}" + (f" and {held} held-out views of them" if held else "")


def verdict(run: Callable[[], Guard], cal: CalibrationSet, precision: str) -> dict[str, Any]:
    """`run()`'s guard as JSON; a guard that cannot run says "not run: why" and counts as not the same (answers
    nobody compared are not "the same"). A missing runtime and a calibration photo that cannot be decoded are
    raised as they are."""
    from zoo.errors import first_line

    try:
        return run().to_json()
    except Exception as e:
        if isinstance(e, PhotoError) or type(e).__name__ == "RuntimeMissingError":  # the user's to fix: one line
            raise
        return Guard(False, f"not run: {first_line(e, with_type=True)}"[:200], 0, cal.sha256, precision,
                     ran=False).to_json()


def until_same(attempt: Callable[[tuple[int, int] | None], tuple[dict[str, Any], Any]],
               steps: tuple[tuple[int, int], ...] = FP32_FALLBACKS) -> tuple[dict[str, Any], Any]:
    """The one fallback loop of every reduced precision: `attempt(None)` (all of it reduced), then, while its
    guard (JSON, as `verdict` gives) sees changed answers, `attempt((depth, first))` with those sensitive layers
    kept in fp32, step by step. Stops at the first guard that passes, cannot run (nothing to fall back from) or
    is empty (not checked). Returns (the last guard, what the last attempt made): when no step keeps the answers,
    the one with the most layers fp32, the closest measured (onnxruntime's all-int8 yolov3-tiny loses every
    detection where its last fallback moves one score by 0.06)."""
    for step in (None, *steps):
        guard, made = attempt(step)
        if guard.get("same", True) or not guard.get("ran", True):
            break
    return guard, made


def run_artefact(model: Any, path: Path, fmt: str, precision: str, meta: dict[str, Any],
                 threads: int | None = None) -> Any:
    """A shallow copy of `model` whose forward runs the artefact at `path` (the model's class, preprocess and
    postprocess unchanged): what the guard asks for answers."""
    runner = open_runner(path, fmt, precision, threads)
    runner.input_shapes = [tuple(i["shape"]) for i in meta.get("inputs", [])]
    out_spec = pytree.treespec_loads(meta["out_tree"])

    def forward(*args: Any) -> Any:
        leaves = [t.float() if t.is_floating_point() else t for t in pytree.tree_leaves(args)]
        return pytree.tree_unflatten(runner(leaves), out_spec)

    fast = copy.copy(model)
    fast.forward = forward  # an instance attribute: nn.Module.__call__ runs it in place of the class's forward
    return fast


def _requests(model: Any, cal: CalibrationSet, meta: dict[str, Any]) -> list[Any]:
    """What the guard predicts on: the calibration photos and their held-out views, or a generator's seeded
    request (latents)."""
    if getattr(model, "inputs", "images") == "images":
        return cal.guard_inputs()
    batch = meta.get("batch")
    return [model.example_request(batch if isinstance(batch, int) else 1)]


def _answers(model: Any, requests: list[Any], hw: tuple[int, int] | None, batch: Any) -> list[Any]:
    """One result per request at the export's size; photos go `batch` at a time when the export has a fixed
    batch (the last group filled up with the first photo), one at a time otherwise."""
    kw = {"size": hw} if hw is not None and "size" in inspect.signature(model.preprocess).parameters else {}
    with torch.inference_mode():
        if not isinstance(batch, int) or batch == 1 or not all(isinstance(r, GuardInput) for r in requests):
            return [model.predict(_load(r), **kw) for r in requests]
        out: list[Any] = []
        for i in range(0, len(requests), batch):
            group = requests[i:i + batch]
            filled = [_load(r) for r in group + [requests[0]] * (batch - len(group))]
            out.extend(model.predict(filled, **kw)[:len(group)])
        return out


def _load(request: Any) -> Any:
    return request.load() if isinstance(request, GuardInput) else request


def guard(model: Any, path: Path, fmt: str, precision: str, meta: dict[str, Any], cal: CalibrationSet,
          threads: int | None = None, fp32_answers: dict[Any, list[Any]] | None = None) -> Guard:
    """Compare the artefact's answers with `model`'s (PyTorch fp32) on the photos of `cal` (`fp32_answers`: as
    `guard_models`)."""
    shape = (meta.get("inputs") or [{}])[0].get("shape") or []
    if getattr(model, "inputs", "images") == "images" and len(shape) != 4:
        raise ValueError("the network takes one image per artefact (the R-CNN family's image lists); "
                         "zoo bench --backend compares its detections")
    hw = (int(shape[-2]), int(shape[-1])) if len(shape) == 4 and None not in shape[-2:] else None
    candidate = run_artefact(model, path, fmt, precision, meta, threads)
    return guard_models(model, candidate, precision, cal, meta, hw, fp32_answers)


def guard_models(model: Any, candidate: Any, precision: str, cal: CalibrationSet, meta: dict[str, Any] | None = None,
                 hw: tuple[int, int] | None = None, fp32_answers: dict[Any, list[Any]] | None = None) -> Guard:
    """Compare `candidate`'s answers (the same model at a reduced precision, however it runs) with `model`'s
    (PyTorch fp32) on the photos of `cal` (a generator: its seeded request). `fp32_answers`, when given, keeps
    `model`'s answers between the calls of one fallback loop (every step compares with the same fp32 answers:
    computed once, not once a step)."""
    from zoo.tasks.parity import compare_results, task_of

    meta = meta or {}
    requests = _requests(model, cal, meta)
    key = (cal.sha256, hw, meta.get("batch"))
    reference = fp32_answers.get(key) if fp32_answers is not None else None
    if reference is None:
        reference = _answers(model, requests, hw, meta.get("batch"))
        if fp32_answers is not None:
            fp32_answers[key] = reference
    answers = _answers(candidate, requests, hw, meta.get("batch"))
    agreement = compare_results(task_of(model), reference, answers, precision=precision,
                                conf=getattr(model, "default_conf", None))
    held_out = sum(isinstance(r, GuardInput) and r.view is not None for r in requests)
    name = _named(requests)
    return Guard(bool(agreement.same), name(agreement.summary), len(requests), cal.sha256, precision,
                 [name(str(m)) for m in agreement.mismatches][:5], dict(agreement.metrics or {}), held_out=held_out)


def _named(requests: list[Any]) -> Callable[[str], str]:
    """compare_results says "image 4: ..." (its index into the inputs; a generator's "image 4.1": the second image
    of the fifth result): name the photo and view instead."""
    import re

    names = [r.name if isinstance(r, GuardInput) else None for r in requests]

    def sub(m: re.Match[str]) -> str:
        i, j = int(m.group(1)), int(m.group(2) or 0)
        if i >= len(names) or not names[i]:
            return m.group(0)
        return f"{names[i]}{f' (image {j + 1})' if j else ''}:"

    return lambda text: re.sub(r"\bimage (\d+)(?:\.(\d+))?:", sub, text)


def cast_floats(value: Any, dtype: torch.dtype) -> Any:
    """Floating tensors in `value` (any tree) cast to `dtype`."""
    return pytree.tree_map(lambda t: t.to(dtype) if isinstance(t, torch.Tensor) and t.is_floating_point() else t,
                           value)


def guarded(model: Any, candidate: Any, precision: str, cal: CalibrationSet,
            fp32_answers: dict[Any, list[Any]] | None = None) -> dict[str, Any]:
    """`guard_models` as JSON (`verdict`: a guard that cannot run says so and is not "same")."""
    return verdict(lambda: guard_models(model, candidate, precision, cal, fp32_answers=fp32_answers), cal, precision)


def autocast_copy(model: Any, precision: str) -> Any:
    """A shallow copy of `model` (weights shared) whose forward runs under torch.autocast at `precision` on the
    model's device, float outputs back in float32 (what postprocess expects): the harness's --precision."""
    from zoo.devices import torch_dtype

    dtype, device_type, forward = torch_dtype(precision), model.device.type, model.forward

    def autocast_forward(*args: Any) -> Any:
        with torch.autocast(device_type, dtype=dtype):
            return cast_floats(forward(*args), torch.float32)

    fast = copy.copy(model)
    fast.forward = autocast_forward  # an instance attribute: nn.Module.__call__ runs it in place of the class's
    return fast


def autocast_guard(model: Any, precision: str, calibration: str | Path | None = None) -> dict[str, Any]:
    """The accuracy guard (JSON, as `verdict` gives) of `model` under torch.autocast at `precision`: its answers
    against its own fp32 answers on the calibration photos (None: the bundled ones)."""
    from zoo.runtimes.calibration import calibration_set

    cal = calibration_set(calibration)
    return guarded(model, autocast_copy(model, precision), precision, cal)
