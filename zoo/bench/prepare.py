"""Preparing a model for timing, public on purpose: the harness and the side-by-side scripts in
benchmarks/ use the same code, so "fused + channels_last + compiled" means one thing everywhere.

    from zoo.bench.config import BenchConfig
    from zoo.bench.prepare import prepare

    prep = prepare("yolov3-tiny", BenchConfig(fuse=True, channels_last=True), torch.device("cpu"))
    prep.runner(*prep.model.example_inputs(1))   # the callable to time
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from zoo.bench.config import BenchConfig
from zoo.bench.flops import count_flops
from zoo.errors import first_line
from zoo.model import ZooModel
from zoo.optimized import to_channels_last

__all__ = ["Prepared", "load_for_bench", "prepare", "to_channels_last"]


@dataclass
class Prepared:
    """A model ready to time: the ZooModel (pre/post), the callable to time, and what was done to it."""

    name: str
    model: Any
    runner: Callable[..., Any]
    weights: str
    task: str
    params: int
    macs_per_image: float | None = None
    notes: list[str] = field(default_factory=list)


def prepare(target: str | ZooModel, cfg: BenchConfig, dev: torch.device) -> Prepared:
    """Build (or take) a model and apply the config's fuse / channels_last / compile; count its MACs.

    `target` is a registry name (loaded with its cached weights when cfg.weights is "auto", never
    downloaded; else random init) or a ZooModel (moved to `dev` in place; --fuse and --channels-last work on
    a copy, since they rewrite the weights). Notes (what fusing did, why FLOPs were not counted) come back in
    `Prepared.notes` for the report."""
    notes: list[str] = []
    if isinstance(target, ZooModel):
        name = target.spec.name
        # folding and channels_last rewrite the model's weights: on a copy, never the caller's (a model left in
        # channels_last by an earlier run makes the caller's later eager timings differ: issue 17 item 3)
        model = copy.deepcopy(target) if cfg.fuse or cfg.channels_last else target
        model = model.to(dev).eval()
    else:
        name = target
        model = load_for_bench(target, cfg.weights, dev)
    task = model.spec.task
    if cfg.input_size is not None:
        check_size(model, cfg.input_size)
    if cfg.fuse:
        from zoo.ops.fuse import fuse_conv_bn

        with torch.inference_mode():
            ex = model.example_inputs(1, cfg.input_size)
        fused = fuse_conv_bn(model, *ex)
        notes.append(f"{name}: --fuse {fused.summary()}"
                     + (f"; {len(fused.skipped)} left: {_reasons(fused.skipped)}" if fused.skipped else ""))
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    macs = None
    if cfg.flops:
        try:
            with torch.inference_mode():
                ex = to_channels_last(model.example_inputs(1, cfg.input_size), cfg.channels_last)
            macs = count_flops(model, *ex) / 2
        except Exception as e:
            notes.append(f"{name}: FLOPs not counted: {first_line(e)}")
    runner: Callable[..., Any] = model
    if cfg.compile:
        kw: dict[str, Any] = {"dynamic": False}
        if cfg.compile_mode:
            kw["mode"] = cfg.compile_mode
        runner = torch.compile(model, **kw)
    return Prepared(name, model, runner, model.weights_source, task, params, macs, notes)


def load_for_bench(name: str, weights: str, dev: torch.device, registry: Any = None) -> Any:
    """`name` with its cached weights when `weights` is "auto" and they are cached (the harness never
    downloads), else random init: the resolver's never-download answer, loaded like zoo.load does."""
    from zoo.api import build, load_from
    from zoo.plugin_manager import default_registry
    from zoo.resolve import resolve_weights

    resolved = (default_registry() if registry is None else registry).resolve(name)
    if weights == "auto":
        source = resolve_weights(resolved, download=False)
        if source.kind != "none":
            return load_from(source, resolved.spec, dev, registry)
    return build(resolved.spec, device=dev, registry=registry)


def check_size(model: Any, size: tuple[int, int]) -> None:
    """Ask the model's own preprocess about `size` (YOLO: "a positive multiple of 32"), so bench says what
    predict says instead of torch's "Sizes of tensors must match" mid-row. Only InputErrors count."""
    import inspect

    from zoo.errors import InputError

    if "size" not in inspect.signature(model.preprocess).parameters:
        return
    try:
        model.preprocess(model.example_request(1, size), size=size)
    except InputError:
        raise
    except Exception:  # anything else is the rows' business (they record it)
        pass


def _reasons(skipped: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for why in skipped.values():
        counts[why] = counts.get(why, 0) + 1
    return "; ".join(f"{n} x {why}" for why, n in counts.items())
