"""Does a candidate give the fp32 eager answers? The reference is computed once per search (true fp32 on CUDA);
each candidate's output is judged by its task's own comparison (zoo.tasks.parity) at its precision."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from zoo.errors import SpecError
from zoo.optimized import settle
from zoo.tasks.parity import compare_outputs, compare_results, output_tolerance, task_of


@dataclass
class Reference:
    """The fp32 eager answers a candidate must reproduce, on one fixed input."""

    inputs: tuple[Any, ...]  # forward arguments (the preprocessed example request when there is one)
    metas: list[Any] | None  # for postprocess; None when the model has no postprocess
    raw: Any
    results: list[Any] | None


@contextlib.contextmanager
def true_fp32(dev: torch.device) -> Iterator[None]:
    """On CUDA, TF32 off for the block (then restored): torch's own default lets cuDNN convolutions use TF32, so
    the reference would otherwise not be fp32; the candidates run with the user's settings."""
    if dev.type != "cuda":
        yield
        return
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def reference(model: Any, batch_size: int, input_size: tuple[int, int] | None) -> Reference:
    """fp32 eager outputs of `model` on its example request (random images), preprocessed once; models without
    a postprocess (or a request preprocess takes) get their example inputs and a raw comparison. On CUDA the
    reference is true fp32 (TF32 off while it runs)."""
    with torch.inference_mode(), true_fp32(model.device):
        metas = None
        try:
            pre_kw = {"size": input_size} if input_size is not None and "size" in model.options() else {}
            batch, metas = model.preprocess(model.example_request(batch_size, input_size), **pre_kw)
            inputs: tuple[Any, ...] = (batch,)
        except Exception:  # a model whose preprocess cannot take its request: the raw forward arguments
            inputs = tuple(seeded(lambda: model.example_inputs(batch_size, input_size)))
            metas = None
        raw = model(*clone(inputs))
        results = None
        if metas is not None:
            try:
                results = model.postprocess(settle(raw, True), metas)
            except NotImplementedError:
                results = None
    return Reference(inputs, metas, raw, results)


def check(model: Any, ref: Reference, raw: Any, precision: str) -> tuple[bool, str]:
    """Does `raw` (a candidate's forward output on ref.inputs) give the reference's answers? (ok, what it found)
    The task's answers decide; the raw outputs must also be within the precision's tolerance unless the task
    is a classifier (its top-k is the answer) or the outputs do not line up (a variable number of boxes)."""
    tol = output_tolerance("tf32" if precision == "fp32" and tf32_on(model.device) else precision)
    outputs = compare_outputs(ref.raw, raw, atol=tol.atol, rtol=tol.rtol)
    note = outputs.summary
    task = _task(model)
    if ref.results is None or ref.metas is None or task is None:
        return outputs.same, note
    answers = compare_results(task, ref.results, model.postprocess(raw, ref.metas), precision=precision,
                              conf=float(getattr(model, "default_conf", 0.0) or 0.0))
    lined_up = outputs.metrics["max_abs"] != float("inf")
    if answers.same and lined_up and not outputs.same and task.answers != "topk":
        return False, f"raw outputs differ beyond the tolerance; {answers.summary}; {note}"
    return answers.same, f"{answers.summary}; {note}"


def _task(model: Any) -> Any:
    try:
        return task_of(model)
    except SpecError:  # a registry without the model's task: raw outputs only
        return None


def tf32_on(dev: torch.device) -> bool:
    """Whether "fp32" on `dev` may run TF32 convolutions or matmuls (CUDA with torch's default settings)."""
    return dev.type == "cuda" and bool(torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)


def clone(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.clone()
    if isinstance(x, (list, tuple)):
        return type(x)(clone(v) for v in x)
    return x


def seeded(fn: Callable[[], Any], seed: int = 0) -> Any:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn()
