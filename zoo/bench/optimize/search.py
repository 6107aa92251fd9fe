"""The search: every candidate configured on a copy of the model, checked against the fp32 eager answers, and
timed with the harness' own forward row; the fastest correct one is chosen and stored."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch

from zoo import optimized
from zoo.bench.config import BenchConfig
from zoo.bench.optimize import space
from zoo.bench.optimize.cache import cache_key, load_cached, save_cached
from zoo.bench.optimize.check import Reference, check, clone, reference
from zoo.bench.optimize.result import OptimizeResult, Trial
from zoo.errors import InputError, first_line
from zoo.optimized import Candidate


def search(target: Any, device: Any = "auto", batch_size: int = 1, input_size: int | Sequence[int] | None = None,
           compile: bool | str | Sequence[str] | None = None, backends: bool = True, warmup: int = 3,
           iters: int = 20, weights: str = "auto", cache: bool = True, flops: bool = False,
           log: Callable[[str], Any] | None = None) -> OptimizeResult:
    """Try the candidates for `target` (a name, or a ZooModel: moved to `device` and set to eval in place;
    every candidate works on a deep copy) at `batch_size` on `device`; the fastest correct one is `chosen`.
    A stored search for the same key is returned without measuring (`from_cache`); cache=False always
    measures (and replaces the stored one)."""
    from zoo.bench.prepare import load_for_bench
    from zoo.devices import resolve_device
    from zoo.model import ZooModel

    dev = resolve_device(device)
    size = input_size_pair(input_size)
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    base = target.to(dev).eval() if isinstance(target, ZooModel) else load_for_bench(str(target), weights, dev)
    modes = space.compile_modes(dev, compile)
    stage1 = space.candidates(dev, backends)
    key = cache_key(base.spec.name, base.weights_source, dev, batch_size, size, stage1, modes)
    if cache:
        hit = load_cached(key)
        if hit is not None:
            return hit
    say = log or (lambda _msg: None)
    res = OptimizeResult(model=base.spec.name, weights=base.weights_source, device=str(dev),
                         device_name=optimized.device_name(dev), batch_size=batch_size,
                         input_size=list(size) if size else None, torch=torch.__version__, chosen=Candidate())
    total = len(stage1) + len(modes)
    say(f"searching the fastest configuration of {base.spec.name} at batch {batch_size} on {res.device_name}: "
        f"{total} candidates, once (the choice is cached in ZOO_HOME)")
    ref = reference(base, batch_size, size)
    macs = _macs(base, size) if flops else None
    for i, cand in enumerate(stage1, 1):
        say(f"[{i}/{total}] {base.spec.name} bs={batch_size}: {cand.label}")
        res.trials.append(_try(base, cand, ref, dev, batch_size, size, warmup, iters, macs))
    best = _fastest(res.trials, lambda c: c.backend is None)
    for i, mode in enumerate(modes, len(stage1) + 1):
        cand = dataclasses.replace(best, compile_mode=mode)
        say(f"[{i}/{total}] {base.spec.name} bs={batch_size}: {cand.label}")
        res.trials.append(_try(base, cand, ref, dev, batch_size, size, warmup, iters, macs))
    res.chosen = _fastest(res.trials)
    save_cached(key, res)
    return res


def optimize_model(model: Any, batch_size: int = 1, input_size: int | Sequence[int] | None = None,
                   compile: bool | str | Sequence[str] | None = None, log: Callable[[str], Any] | None = None,
                   **search_kw: Any) -> Any:
    """`model` configured with the stored choice for its device and `batch_size`, searched first when none is
    stored: what `zoo predict --optimize` uses. The search is kept on the model as `model.optimize_result`."""
    res = search(model, device=model.device, batch_size=batch_size, input_size=input_size, compile=compile,
                 log=log, **search_kw)
    out = optimized.apply(model, res.chosen, input_size_pair(input_size))
    out.optimize_result = res
    return out


def _fastest(trials: list[Trial], allowed: Callable[[Candidate], bool] = lambda c: True) -> Candidate:
    ok = [t for t in trials if t.status == "ok" and t.p50_ms is not None and allowed(t.candidate)]
    return min(ok, key=lambda t: t.p50_ms).candidate if ok else Candidate()  # type: ignore[arg-type,return-value]


def _try(base: Any, cand: Candidate, ref: Reference, dev: torch.device, bs: int, size: tuple[int, int] | None,
         warmup: int, iters: int, macs: float | None) -> Trial:
    """Configure a copy of `base` as `cand`, check its answers, time its forward row (the harness' code)."""
    from zoo.bench import rows
    from zoo.bench.prepare import Prepared

    trial = Trial(cand)
    model = None
    try:
        model = optimized.apply(copy.deepcopy(base), cand, size)
        with torch.inference_mode():
            model(*clone(ref.inputs))  # the first call compiles; the check sees a warm model (CUDA graphs too)
            raw = model(*clone(ref.inputs))
            ok, trial.check = check(base, ref, raw, cand.precision)
        guard = (getattr(model, "backend_info", None) or {}).get("guard")
        if guard:  # a runtime's reduced precision: its accuracy guard on real photos (zoo.runtimes.guard) decides too
            ok = ok and bool(guard["same"])  # after its fallback: passing with layers kept fp32 is pickable
            kept = guard.get("fp32_layers")
            trial.check = (f"accuracy guard: {guard['summary']}"
                           + (f" ({len(kept)} layers kept fp32: {', '.join(kept)})" if kept else "") + f"; {trial.check}")
        del raw
        trial.status = "ok" if ok else "wrong"
        cfg = BenchConfig(batch_sizes=(bs,), device=str(dev), precision=cand.precision,
                          channels_last=cand.channels_last, compile=cand.compile_mode is not None,
                          compile_mode=cand.compile_mode, fuse=cand.fuse, warmup=warmup, iters=iters,
                          input_size=size, e2e=False, flops=macs is not None, memory=False)
        prep = Prepared(base.spec.name, model, model, base.weights_source, base.spec.task,
                        sum(p.numel() for p in base.parameters()), macs)
        row = rows.forward_row(prep, bs, cfg, dev, None, _peak(dev, cand) if macs is not None else None)
        row.variant = f"optimize:{cand.label}"
        trial.row = dataclasses.asdict(row)
        if not row.ok:
            trial.status, trial.error = "error", row.error
        trial.p50_ms, trial.mean_ms = row.p50_ms, row.mean_ms
    except Exception as e:  # a candidate that cannot run here (no bf16 kernel, compile failure): recorded, skipped
        trial.status, trial.error = "error", f"{type(e).__name__}: {first_line(e)}"[:300]
    del model
    rows.free(dev)
    return trial


def _macs(model: Any, size: tuple[int, int] | None) -> float | None:
    from zoo.bench.flops import count_flops

    try:
        with torch.inference_mode():
            return count_flops(model, *model.example_inputs(1, size)) / 2
    except Exception:
        return None


def _peak(dev: torch.device, cand: Candidate) -> float | None:
    from zoo.bench.flops import peak_reference
    from zoo.devices import torch_dtype

    try:
        return peak_reference(dev, torch_dtype(cand.precision), cand.channels_last).gflops
    except Exception:
        return None


def input_size_pair(input_size: int | Sequence[int] | None) -> tuple[int, int] | None:
    """None, 320 or (h, w) -> None or (h, w)."""
    if input_size is None:
        return None
    if isinstance(input_size, int):
        return (input_size, input_size)
    h, w = input_size
    return (int(h), int(w))
