"""Timing one row: the `forward` row (the raw network call) and the `end-to-end` row (preprocess + forward
+ postprocess, each stage timed), with peak memory, first-call and warm-up handling, and failures recorded
in the row (out of memory, unsupported precision, a broken model) so the sweep goes on."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

import torch

from zoo.bench.config import BenchConfig
from zoo.bench.memory import PeakMemory
from zoo.bench.prepare import Prepared, to_channels_last
from zoo.bench.protocol import LatencyStats, synchronize, time_calls, time_first_call, warm_up
from zoo.bench.report import END_TO_END, FORWARD, BenchRow
from zoo.errors import first_line
from zoo.model import size_error


def _base_row(prep: Prepared, bs: int, kind: str, cfg: BenchConfig, dev: torch.device,
              size: tuple[int, int] | None) -> BenchRow:
    return BenchRow(model=prep.name, kind=kind, batch_size=bs, task=prep.task,
                    weights=prep.weights, input_size=prep.model.input_label(size), device=str(dev),
                    precision=cfg.precision, channels_last=cfg.channels_last, compiled=cfg.compile,
                    fused=cfg.fuse, warmup=cfg.warmup, params=prep.params,
                    macs=None if prep.macs_per_image is None else prep.macs_per_image * bs,
                    flops=None if prep.macs_per_image is None else 2 * prep.macs_per_image * bs)


def _autocast(dev: torch.device, dtype: torch.dtype | None) -> Any:
    return torch.autocast(dev.type, dtype=dtype) if dtype is not None else nullcontext()


def make_step(fn: Callable[..., Any], args: tuple[Any, ...], dev: torch.device,
              dtype: torch.dtype | None) -> Callable[[], Any]:
    """The zero-argument callable the protocol times: fn(*args), under autocast when dtype is given."""
    if dtype is None:
        return lambda: fn(*args)
    device_type = dev.type

    def step() -> Any:
        with torch.autocast(device_type, dtype=dtype):
            return fn(*args)

    return step


def forward_row(prep: Prepared, bs: int, cfg: BenchConfig, dev: torch.device, amp_dtype: torch.dtype | None,
                peak: float | None) -> BenchRow:
    """The `forward` row: the raw network call on the model's example inputs (a failure is recorded)."""
    row = _base_row(prep, bs, FORWARD, cfg, dev, cfg.input_size)
    try:
        _time_forward(row, prep, bs, cfg, dev, amp_dtype)
        if row.flops is not None and row.mean_ms:
            row.gflops_per_s = row.flops / (row.mean_ms / 1e3) / 1e9
            if peak:
                row.peak_gflops_per_s = peak
                row.pct_of_peak = 100.0 * row.gflops_per_s / peak
    except Exception as e:
        fail_row(row, e)
    free(dev)  # after the except block: the failed call's frames (and their tensors) are gone by now
    return row


def _time_forward(row: BenchRow, prep: Prepared, bs: int, cfg: BenchConfig, dev: torch.device,
                  amp_dtype: torch.dtype | None) -> None:
    with torch.inference_mode():
        args = to_channels_last(prep.model.example_inputs(bs, cfg.input_size), cfg.channels_last)
        step = make_step(prep.runner, tuple(args), dev, amp_dtype)
        _fill_latency(row, _measure(step, row, cfg, dev))


def e2e_row(prep: Prepared, bs: int, cfg: BenchConfig, dev: torch.device,
            amp_dtype: torch.dtype | None) -> BenchRow:
    """The `end-to-end` row: preprocess(example request) -> forward -> postprocess, each stage timed."""
    row = _base_row(prep, bs, END_TO_END, cfg, dev, cfg.input_size)
    try:
        _time_e2e(row, prep, bs, cfg, dev, amp_dtype)
    except Exception as e:
        fail_row(row, e)
    free(dev)
    return row


def _time_e2e(row: BenchRow, prep: Prepared, bs: int, cfg: BenchConfig, dev: torch.device,
              amp_dtype: torch.dtype | None) -> None:
    model = prep.model
    stages: list[tuple[float, float, float]] = []
    # a model whose preprocess takes no `size` (its own transform, or a generator) gets the size in its request only
    pre_kw, _ = model.split_options({"size": cfg.input_size}) if cfg.input_size is not None and "size" in \
        model.options() else ({}, {})
    clock = time.perf_counter
    request = model.example_request(bs, cfg.input_size)

    def step() -> None:
        t0 = clock()
        batch, metas = model.preprocess(request, **pre_kw)
        batch = to_channels_last(batch, cfg.channels_last)
        synchronize(dev)
        t1 = clock()
        with _autocast(dev, amp_dtype):
            raw = prep.runner(batch)
        synchronize(dev)
        t2 = clock()
        model.postprocess(raw, metas)
        synchronize(dev)
        stages.append((t1 - t0, t2 - t1, clock() - t2))

    with torch.inference_mode():
        samples = _measure(step, row, cfg, dev, before_timing=stages.clear)
    _fill_latency(row, samples)
    timed = stages[-len(samples):]
    row.preprocess_ms, row.forward_ms, row.postprocess_ms = (_median([s[i] for s in timed]) * 1e3 for i in range(3))


def _measure(step: Callable[[], Any], row: BenchRow, cfg: BenchConfig, dev: torch.device,
             before_timing: Callable[[], Any] | None = None) -> list[float]:
    """First call, warm-up and timed calls of one row; peak memory over all of them when that is free
    of overhead (CUDA stats, Linux VmHWM), else over the untimed calls only."""
    mem = PeakMemory(dev) if cfg.memory else None
    if mem is not None:
        mem.__enter__()
    measured = False
    try:
        first = time_first_call(step, dev)
        row.first_call_ms = first * 1e3
        if cfg.compile and row.kind == FORWARD:
            row.compile_s = first
        warm_up(step, cfg.warmup, dev)
        if mem is not None and not mem.free_of_overhead:
            mem.__exit__(None, None, None)
            measured = True
        if before_timing is not None:
            before_timing()
        samples = time_calls(step, dev, cfg.iters, cfg.time_budget)
    finally:
        if mem is not None and not measured:
            mem.__exit__(None, None, None)
    if mem is not None:
        s = mem.stats
        row.cuda_allocated, row.cuda_reserved = s.cuda_allocated, s.cuda_reserved
        row.rss_peak, row.rss_delta, row.memory_method = s.rss_peak, s.rss_delta, s.method
    return samples


def _fill_latency(row: BenchRow, samples: list[float]) -> None:
    st = LatencyStats.from_seconds(samples)
    row.iters = st.n
    row.mean_ms, row.std_ms, row.cv = st.mean_ms, st.std_ms, st.cv
    row.min_ms, row.p50_ms, row.p90_ms, row.p99_ms, row.max_ms = st.min_ms, st.p50_ms, st.p90_ms, st.p99_ms, st.max_ms
    row.throughput = row.batch_size / (st.mean_ms / 1e3) if st.mean_ms > 0 else None


def is_oom(e: BaseException) -> bool:
    """torch's out-of-memory error (CUDA and others), or the CPU allocator's failure."""
    if isinstance(e, torch.OutOfMemoryError):
        return True
    msg = str(e).lower()
    return isinstance(e, (RuntimeError, MemoryError)) and (
        "out of memory" in msg or "can't allocate memory" in msg or isinstance(e, MemoryError))


def fail_row(row: BenchRow, e: Exception) -> None:
    """Record a failed row (out of memory, unsupported, error); only Exceptions get here, so Ctrl-C
    (KeyboardInterrupt) always ends the run and reaches the CLI, which says "interrupted"."""
    if is_oom(e):
        row.status = "oom"
        row.error = f"out of memory at batch size {row.batch_size}: {first_line(e)}"[:300]
    elif isinstance(e, NotImplementedError):
        row.status = "unsupported"
        row.error = first_line(e)
    elif (sized := size_error(row.model, None, e, _hw(row.input_size))) is not None:
        row.status = "error"
        row.error = str(sized)[:300]
    else:
        row.status = "error"
        row.error = f"{type(e).__name__}: {first_line(e)}"[:300]
    for f in ("mean_ms", "std_ms", "cv", "min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "throughput",
              "gflops_per_s", "pct_of_peak"):
        setattr(row, f, None)


def free(dev: torch.device) -> None:
    """Give memory back after a row (a failed row's tensors included) so the next one starts clean. On the CPU
    the young generations are collected, where what one row made lies (a failed call's frames and their
    tensors, freed by a cycle); a full collection costs 0.1-0.4 s a row in a process holding many objects (a
    long sweep, --optimize's search, a test worker). CUDA gets the full one before its cached blocks go back."""
    if dev.type == "cuda":
        gc.collect()
        torch.cuda.empty_cache()
    else:
        gc.collect(1)


def _median(values: Iterable[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _hw(label: str | None) -> tuple[int, int] | None:
    """(h, w) from a row's input label "HxW" (None for labels such as a generator's "z=128")."""
    try:
        h, w = str(label).split("x")
        return int(h), int(w)
    except ValueError:
        return None
