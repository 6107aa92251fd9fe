"""The harness: one protocol for every model of every task.

For each model: build it (cached weights when present, else random init: both are fine for timing
and the row says which), move it to the device, optionally fold conv-BN, convert to channels_last
and torch.compile it, count its FLOPs once, and then for each batch size measure
  - a `forward` row: `model(*model.example_inputs(bs, size))` (tensors for classifiers and detectors,
    image lists for torchvision detectors, latents for generators: whatever the family's forward takes)
  - an `end-to-end` row: `postprocess(forward(preprocess(model.example_request(bs, size))))`, with
    each stage timed on its own.
A failing row (out of memory, an unsupported precision, a broken model) is recorded with its status
and the sweep goes on; Ctrl-C ends it.

The jobs live in their own modules: config (BenchConfig), zoo.devices (device names), targets (what to
run), prepare (building and preparing a model; public), rows (timing one row), notes, progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from zoo.bench.config import DEFAULT_ITERS, DEFAULT_WARMUP, BenchConfig
from zoo.bench.env import collect_env
from zoo.bench.flops import apply_peak, peak_reference
from zoo.bench.notes import RANDOM_INIT_E2E, protocol_notes
from zoo.bench.prepare import prepare
from zoo.bench.progress import BenchProgress
from zoo.bench.report import END_TO_END, BenchReport, BenchRow
from zoo.bench.rows import e2e_row, fail_row, forward_row, free
from zoo.bench.targets import expand_models
from zoo.devices import resolve_device, torch_dtype
from zoo.errors import first_line


def bench(models: Any = None, batch_sizes: Sequence[int] | int = (1,), device: str | torch.device = "auto",
          precision: str = "fp32", channels_last: bool = False, compile: bool = False, fuse: bool = False,
          warmup: int = DEFAULT_WARMUP, iters: int | None = None, time_budget: float | None = None,
          threads: int | None = None, input_size: int | Sequence[int] | None = None, task: str | None = None,
          e2e: bool = True, flops: bool = True, memory: bool = True, weights: str = "auto",
          compile_mode: str | None = None, progress: BenchProgress | None = None, backends: Sequence[str] | str | None = None,
          precisions: Sequence[str] | str | None = None, parity_image: str | None = None,
          calibration: str | Path | None = None) -> BenchReport:
    """Benchmark models (names, patterns, ZooModel objects, or every model of `task`) -> BenchReport.

    Each batch size gets a `forward` row (the raw network call) and, with e2e, an `end-to-end` row
    (preprocess + forward + postprocess). `iters` timed calls follow `warmup` untimed ones, or calls
    run until `time_budget` seconds are spent (whichever ends first when both are given).
    A ZooModel object is moved to the device in place; --fuse and --channels-last work on a copy.
    KeyboardInterrupt is never recorded as a failed row: it ends the run.
    `backends` ("torch,onnxruntime" or "all" or a list) and `precisions` (several, or "all") run every
    (backend, precision) pair with a parity column against torch fp32 (zoo.bench.backends); detectors compare
    their detections on `parity_image` (default: the bundled sample photo). Reduced precisions calibrate (int8)
    and are guarded on the photos of the `calibration` folder (default: the bundled ones).
    `progress` (a zoo.bench.progress.BenchProgress) is told the rows as they finish; the library draws nothing.
    """
    from zoo.bench.backends import parse_backends, parse_precisions

    backend_list = parse_backends(backends if isinstance(backends, str) or backends is None else ",".join(backends))
    precision_list = parse_precisions(precisions if isinstance(precisions, str) or precisions is None
                                      else ",".join(precisions))
    if isinstance(batch_sizes, int):
        batch_sizes = (batch_sizes,)
    if isinstance(input_size, int):
        input_size = (input_size, input_size)
    cfg = BenchConfig(batch_sizes=tuple(int(b) for b in batch_sizes), device=str(device), precision=precision,
                      channels_last=channels_last, compile=compile, compile_mode=compile_mode, fuse=fuse,
                      warmup=warmup, iters=iters, time_budget=time_budget, threads=threads,
                      input_size=tuple(int(s) for s in input_size) if input_size is not None else None,  # type: ignore[arg-type]
                      e2e=e2e, flops=flops, memory=memory, weights=weights, backends=backend_list,
                      precisions=precision_list, parity_image=None if parity_image is None else str(parity_image),
                      calibration=None if calibration is None else str(calibration))
    cfg.validate()
    if cfg.backends != ("torch",) or cfg.precisions is not None:
        from zoo.bench.backends import combos

        combos(cfg)  # a precision no backend asked for runs: one line before any model is built
    if cfg.iters is None and cfg.time_budget is None:
        cfg.iters = DEFAULT_ITERS
    dev = resolve_device(cfg.device)
    targets = expand_models(models, task)
    old_threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(targets, cfg, dev, progress)
    finally:
        if cfg.threads is not None:
            torch.set_num_threads(old_threads)


def _autocast_guard(prep: Any, cfg: BenchConfig, notes: list[str]) -> str:
    """--precision fp16/bf16 runs the model under torch.autocast: its accuracy guard (answers against fp32's on
    the calibration photos), said in a note and carried by the rows; "" at fp32."""
    if cfg.precision == "fp32":
        return ""
    from zoo.bench.backends import guard_note, guard_text
    from zoo.runtimes.guard import autocast_guard

    guard = autocast_guard(prep.model, cfg.precision, cfg.calibration)
    notes.append(guard_note(f"{prep.name} {cfg.precision} (autocast)", guard))
    return guard_text(guard)


def _run(targets: list[Any], cfg: BenchConfig, dev: torch.device, progress: BenchProgress | None) -> BenchReport:
    env = collect_env(str(dev), cfg.precision)
    report = BenchReport(env=env, config={**dataclasses.asdict(cfg), "device": str(dev)})
    report.notes.extend(protocol_notes(cfg, dev))
    amp_dtype = torch_dtype(cfg.precision) if cfg.precision != "fp32" else None
    peak = None
    if cfg.flops:
        try:
            peak = peak_reference(dev, amp_dtype or torch.float32, cfg.channels_last)
            report.notes.append(peak.note())
        except Exception as e:  # e.g. fp16 matmul unsupported on this CPU
            report.notes.append(f"peak not measured: {first_line(e)}")
    several = cfg.backends != ("torch",) or cfg.precisions is not None
    if several:
        from zoo.bench.backends import backend_rows
        from zoo.bench.backends import n_rows as rows_per_model

        n_rows = len(targets) * rows_per_model(cfg)
    else:
        n_rows = len(targets) * len(cfg.batch_sizes) * (2 if cfg.e2e else 1)
    bar = progress if isinstance(progress, BenchProgress) else BenchProgress()  # False/None: reports go nowhere
    bar.start(n_rows)
    with bar:
        for target in targets:
            label = target if isinstance(target, str) else target.spec.name
            bar.describe(f"{label}: building")
            try:
                prep = prepare(target, cfg, dev)
            except Exception as e:  # a model that cannot be built or prepared: its rows say why, others go on
                for bs in cfg.batch_sizes:
                    row = BenchRow(model=label, batch_size=bs, device=str(dev), precision=cfg.precision,
                                   channels_last=cfg.channels_last, compiled=cfg.compile, fused=cfg.fuse)
                    fail_row(row, e)
                    row.error = f"build failed: {row.error}"
                    # nothing was loaded: the row must not claim "random init" (a corrupt cached file, say)
                    row.weights = "random init (build failed)" if cfg.weights == "random" else "not loaded"
                    report.rows.append(row)
                    bar.advance(2 if cfg.e2e else 1)
                del e
                free(dev)
                continue
            report.notes.extend(prep.notes)
            if several:  # each (backend, precision) pair, with parity against torch fp32
                report.rows.extend(backend_rows(prep, cfg, dev, peak.gflops if peak else None, bar, report.notes))
                del prep
                free(dev)
                continue
            guard = _autocast_guard(prep, cfg, report.notes)
            for bs in cfg.batch_sizes:
                bar.describe(f"{prep.name} bs={bs} forward")
                rows = [forward_row(prep, bs, cfg, dev, amp_dtype, peak.gflops if peak else None)]
                bar.advance()
                if cfg.e2e:
                    bar.describe(f"{prep.name} bs={bs} end-to-end")
                    rows.append(e2e_row(prep, bs, cfg, dev, amp_dtype))
                    bar.advance()
                for row in rows:
                    row.guard = guard
                report.rows.extend(rows)
            del prep
            free(dev)
    if peak is not None:  # every row over one reference that no row exceeds
        report.notes.extend(apply_peak(report.rows, peak))
    if cfg.e2e and any(r.weights == "random init" and r.kind == END_TO_END and r.ok for r in report.rows):
        report.notes.append(RANDOM_INIT_E2E)
    return report
