"""The harness: one protocol for every model of every task.

For each model: build it (cached weights when present, else random init: both are fine for timing
and the row says which), move it to the device, optionally fold conv-BN, convert to channels_last
and torch.compile it, count its FLOPs once, and then for each batch size measure
  - a `forward` row: `model(*model.example_inputs(bs, size))` (tensors for classifiers and detectors,
    image lists for torchvision detectors, latents for generators: whatever the family's forward takes)
  - an `end-to-end` row: `postprocess(forward(preprocess(model.example_request(bs, size))))`, with
    each stage timed on its own.
A failing row (out of memory, an unsupported precision, a broken model) is recorded with its status
and the sweep goes on.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch

from zoo.bench.env import DTYPES, collect_env, cpu_flags
from zoo.bench.flops import count_flops, matmul_peak_gflops
from zoo.bench.memory import PeakMemory
from zoo.bench.protocol import LatencyStats, synchronize, time_calls, time_first_call, warm_up
from zoo.bench.report import END_TO_END, FORWARD, BenchReport, BenchRow
from zoo.errors import InputError
from zoo.model import ZooModel

PRECISIONS = ("fp32", "fp16", "bf16")
DEFAULT_ITERS = 20
DEFAULT_WARMUP = 3


@dataclass
class BenchConfig:
    """Every knob of one harness run (stored in the report's `config`)."""

    batch_sizes: tuple[int, ...] = (1,)
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    compile_mode: str | None = None
    fuse: bool = False
    warmup: int = DEFAULT_WARMUP
    iters: int | None = None
    time_budget: float | None = None
    threads: int | None = None
    input_size: tuple[int, int] | None = None
    e2e: bool = True
    flops: bool = True
    memory: bool = True
    weights: str = "auto"  # auto: cached weights when present, else random init; random: always random init

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown precision '{self.precision}' (fp32, fp16, bf16)")
        if not self.batch_sizes or any(int(b) < 1 for b in self.batch_sizes):
            raise InputError("batch sizes must be positive integers, e.g. 1,8,32")
        if self.warmup < 0:
            raise InputError("--warmup must be >= 0")
        if self.iters is not None and self.iters < 1:
            raise InputError("--iters must be >= 1")
        if self.time_budget is not None and self.time_budget <= 0:
            raise InputError("--time-budget must be > 0 seconds")
        if self.threads is not None and self.threads < 1:
            raise InputError("--threads must be >= 1")
        if self.weights not in ("auto", "random"):
            raise InputError(f"unknown weights mode '{self.weights}' (auto, random)")
        if self.input_size is not None and min(self.input_size) < 1:
            raise InputError("--input-size must be positive")


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


def resolve_device(device: str | torch.device) -> torch.device:
    """auto -> cuda when available, else cpu; asking for a GPU that is not there is a one-line error."""
    name = str(device).strip().lower()
    if name in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device '{device}' (auto, cpu, cuda, cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
            raise InputError(f"--device {device}: no CUDA GPU is available (torch {torch.__version__}, {build}); "
                             "use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return dev


def expand_models(models: Any, task: str | None = None) -> list[Any]:
    """Names, fnmatch patterns, ZooModel objects and a task -> the list to benchmark (names checked now)."""
    from zoo.plugin_manager import default_registry

    reg = default_registry()
    items: list[Any] = []
    if models is None:
        models = []
    elif isinstance(models, (str, ZooModel)):
        models = [models]
    for m in models:
        if isinstance(m, ZooModel):
            items.append(m)
        elif any(c in str(m) for c in "*?["):
            found = reg.list(str(m))
            if not found:
                raise InputError(f"no model matches '{m}'; see 'zoo list'")
            items.extend(found)
        else:
            reg.resolve(str(m))  # UnknownModelError with did-you-mean, before anything runs
            items.append(str(m))
    if task is not None:
        if task not in {t.name for t in reg.tasks()}:
            raise InputError(f"unknown task '{task}' ({', '.join(t.name for t in reg.tasks())})")
        found = reg.list(task=task)
        if not found:
            raise InputError(f"no registered model has task '{task}'")
        items.extend(n for n in found if n not in items)
    if not items:
        raise InputError("nothing to benchmark: give model names or a task")
    return items


def bench(models: Any = None, batch_sizes: Sequence[int] | int = (1,), device: str | torch.device = "auto",
          precision: str = "fp32", channels_last: bool = False, compile: bool = False, fuse: bool = False,
          warmup: int = DEFAULT_WARMUP, iters: int | None = None, time_budget: float | None = None,
          threads: int | None = None, input_size: int | Sequence[int] | None = None, task: str | None = None,
          e2e: bool = True, flops: bool = True, memory: bool = True, weights: str = "auto",
          compile_mode: str | None = None, progress: bool = False) -> BenchReport:
    """Benchmark models (names, patterns, ZooModel objects, or every model of `task`) -> BenchReport.

    Each batch size gets a `forward` row (the raw network call) and, with e2e, an `end-to-end` row
    (preprocess + forward + postprocess). `iters` timed calls follow `warmup` untimed ones, or calls
    run until `time_budget` seconds are spent (whichever ends first when both are given).
    A ZooModel object is moved to the device (and to channels_last) in place; --fuse works on a copy.
    """
    if isinstance(batch_sizes, int):
        batch_sizes = (batch_sizes,)
    if isinstance(input_size, int):
        input_size = (input_size, input_size)
    cfg = BenchConfig(tuple(int(b) for b in batch_sizes), str(device), precision, channels_last, compile,
                      compile_mode, fuse, warmup, iters, time_budget, threads,
                      tuple(int(s) for s in input_size) if input_size is not None else None,  # type: ignore[arg-type]
                      e2e, flops, memory, weights)
    cfg.validate()
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


def _run(targets: list[Any], cfg: BenchConfig, dev: torch.device, show_progress: bool) -> BenchReport:
    env = collect_env(str(dev), cfg.precision)
    report = BenchReport(env=env, config={**dataclasses.asdict(cfg), "device": str(dev)})
    report.notes.extend(_protocol_notes(cfg, dev))
    amp_dtype = getattr(torch, DTYPES[cfg.precision]) if cfg.precision != "fp32" else None
    peak = None
    if cfg.flops:
        try:
            peak = matmul_peak_gflops(dev, amp_dtype or torch.float32)
            n = 1024 if dev.type == "cpu" else 8192
            report.notes.append(f"% peak: achieved FLOP/s over the best {n}x{n} {DTYPES[cfg.precision]} matmul "
                                f"measured on this device just before the run: {peak:.1f} GFLOP/s")
        except Exception as e:  # e.g. fp16 matmul unsupported on this CPU
            report.notes.append(f"matmul peak not measured: {_one_line(e)}")
    n_rows = len(targets) * len(cfg.batch_sizes) * (2 if cfg.e2e else 1)
    with _Progress(show_progress, n_rows) as bar:
        for target in targets:
            label = target if isinstance(target, str) else target.spec.name
            bar.describe(f"{label}: building")
            try:
                prep = prepare(target, cfg, dev)
            except Exception as e:  # a model that cannot be built or prepared: its rows say why, others go on
                for bs in cfg.batch_sizes:
                    row = BenchRow(model=label, batch_size=bs, device=str(dev), precision=cfg.precision,
                                   channels_last=cfg.channels_last, compiled=cfg.compile, fused=cfg.fuse)
                    _fail(row, e)
                    row.error = f"build failed: {row.error}"
                    report.rows.append(row)
                    bar.advance(2 if cfg.e2e else 1)
                del e
                _free(dev)
                continue
            report.notes.extend(prep.notes)
            for bs in cfg.batch_sizes:
                bar.describe(f"{prep.name} bs={bs} forward")
                report.rows.append(_forward_row(prep, bs, cfg, dev, amp_dtype, peak))
                bar.advance()
                if cfg.e2e:
                    bar.describe(f"{prep.name} bs={bs} end-to-end")
                    report.rows.append(_e2e_row(prep, bs, cfg, dev, amp_dtype))
                    bar.advance()
            del prep
            _free(dev)
    if cfg.e2e and any(r.weights == "random init" and r.kind == END_TO_END and r.ok for r in report.rows):
        report.notes.append("random init: forward latency does not depend on the weights, but postprocess work "
                            "(score thresholds, NMS, decoding) does, so e2e rows of random-init detectors are "
                            "not representative of trained ones")
    return report


# ---------------------------------------------------------------------- preparing a model

def prepare(target: Any, cfg: BenchConfig, dev: torch.device) -> Prepared:
    """Build (or take) a model and apply the config's fuse / channels_last / compile; count its MACs."""
    notes: list[str] = []
    if isinstance(target, ZooModel):
        name = target.spec.name
        model = copy.deepcopy(target) if cfg.fuse else target  # folding rewrites the model: not the caller's
        model = model.to(dev).eval()
    else:
        name = target
        model = _load(target, cfg.weights, dev)
    task = model.spec.task
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
            notes.append(f"{name}: FLOPs not counted: {_one_line(e)}")
    runner: Callable[..., Any] = model
    if cfg.compile:
        kw: dict[str, Any] = {"dynamic": False}
        if cfg.compile_mode:
            kw["mode"] = cfg.compile_mode
        runner = torch.compile(model, **kw)
    return Prepared(name, model, runner, model.weights_source, task, params, macs, notes)


def _load(name: str, weights: str, dev: torch.device) -> Any:
    """Cached weights when present (never downloads), else random init."""
    from zoo import api
    from zoo.hub import cached_weights
    from zoo.plugin_manager import default_registry

    resolved = default_registry().resolve(name)
    w = resolved.weights
    if weights == "auto" and w is not None and cached_weights(resolved.spec, w) is not None:
        return api.load(name, device=dev)
    return api.build(resolved.spec, device=dev)


def _reasons(skipped: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for why in skipped.values():
        counts[why] = counts.get(why, 0) + 1
    return "; ".join(f"{n} x {why}" for why, n in counts.items())


def to_channels_last(args: Any, on: bool) -> Any:
    """4-D float tensors (anywhere in tuples/lists) -> channels_last; everything else unchanged."""
    if not on:
        return args
    if isinstance(args, torch.Tensor):
        return args.contiguous(memory_format=torch.channels_last) if args.dim() == 4 else args
    if isinstance(args, (list, tuple)):
        return type(args)(to_channels_last(a, on) for a in args)
    return args


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


# ---------------------------------------------------------------------- rows

def _forward_row(prep: Prepared, bs: int, cfg: BenchConfig, dev: torch.device, amp_dtype: torch.dtype | None,
                 peak: float | None) -> BenchRow:
    row = _base_row(prep, bs, FORWARD, cfg, dev, cfg.input_size)
    try:
        _time_forward(row, prep, bs, cfg, dev, amp_dtype)
        if row.flops is not None and row.mean_ms:
            row.gflops_per_s = row.flops / (row.mean_ms / 1e3) / 1e9
            if peak:
                row.peak_gflops_per_s = peak
                row.pct_of_peak = 100.0 * row.gflops_per_s / peak
    except Exception as e:
        _fail(row, e)
    _free(dev)  # after the except block: the failed call's frames (and their tensors) are gone by now
    return row


def _time_forward(row: BenchRow, prep: Prepared, bs: int, cfg: BenchConfig, dev: torch.device,
                  amp_dtype: torch.dtype | None) -> None:
    with torch.inference_mode():
        args = to_channels_last(prep.model.example_inputs(bs, cfg.input_size), cfg.channels_last)
        step = make_step(prep.runner, tuple(args), dev, amp_dtype)
        _fill_latency(row, _measure(step, row, cfg, dev))


def _e2e_row(prep: Prepared, bs: int, cfg: BenchConfig, dev: torch.device,
             amp_dtype: torch.dtype | None) -> BenchRow:
    row = _base_row(prep, bs, END_TO_END, cfg, dev, cfg.input_size)
    try:
        _time_e2e(row, prep, bs, cfg, dev, amp_dtype)
    except Exception as e:
        _fail(row, e)
    _free(dev)
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


def _fail(row: BenchRow, e: BaseException) -> None:
    if isinstance(e, KeyboardInterrupt):
        raise e
    if is_oom(e):
        row.status = "oom"
        row.error = f"out of memory at batch size {row.batch_size}: {_one_line(e)}"[:300]
    elif isinstance(e, NotImplementedError):
        row.status = "unsupported"
        row.error = _one_line(e) or f"{type(e).__name__}"
    else:
        row.status = "error"
        row.error = f"{type(e).__name__}: {_one_line(e)}"[:300]
    for f in ("mean_ms", "std_ms", "cv", "min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "throughput",
              "gflops_per_s", "pct_of_peak"):
        setattr(row, f, None)


def _free(dev: torch.device) -> None:
    """Give memory back after a row (a failed row's tensors included) so the next one starts clean."""
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def _median(values: Iterable[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _protocol_notes(cfg: BenchConfig, dev: torch.device) -> list[str]:
    timing = "CUDA events, synchronised after every call" if dev.type == "cuda" else "time.perf_counter per call"
    count = (f"{cfg.iters} timed calls" if cfg.time_budget is None
             else f"timed calls for {cfg.time_budget:g} s" + (f" (at most {cfg.iters})" if cfg.iters else ""))
    notes = [
        f"latency: the first (cold) call is timed on its own, then {cfg.warmup} untimed warm-up calls, then "
        f"{count} under torch.inference_mode ({timing}); p50/p90/p99 interpolate linearly; cv = std/mean; "
        "img/s = batch size / mean latency",
    ]
    if cfg.flops:
        notes.append("MACs: torch.utils.flop_counter on one forward at batch 1, scaled by the batch size; "
                     "FLOPs = 2 x MACs; achieved = FLOPs / mean latency")
    if cfg.e2e:
        notes.append("e2e rows: preprocess(example request: images, or latents for generators) + forward + postprocess, each stage synchronised "
                     "and timed (stage columns are medians)")
    if cfg.precision != "fp32":
        notes.append(f"precision {cfg.precision}: torch.autocast({dev.type!r}, {DTYPES[cfg.precision]}) around "
                     "each forward; weights stay fp32 and are cast on every call (autocast's cast cache lives "
                     "for one autocast region), which costs weight-heavy models such as VGG part of the gain")
    if dev.type == "cpu" and cfg.precision == "fp16" and not cpu_flags() & {"avx512_fp16", "amx_fp16"}:
        notes.append("fp16 on this CPU: autocast runs, but the CPU has no native fp16 arithmetic "
                     "(no avx512_fp16 / amx_fp16), so it is emulated and usually much slower than fp32")
    if dev.type == "cpu" and cfg.precision == "bf16" and not cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        notes.append("bf16 on this CPU: no avx512_bf16 / amx_bf16, so bf16 math is emulated")
    if dev.type == "cuda" and cfg.precision == "fp32" and torch.backends.cudnn.allow_tf32:
        notes.append("CUDA fp32: cuDNN convolutions may use TF32 (torch.backends.cudnn.allow_tf32 is True), "
                     "so % of the fp32 matmul peak can exceed 100")
    if cfg.compile:
        notes.append("compile: torch.compile(dynamic=False" + (f", mode={cfg.compile_mode!r}" if cfg.compile_mode
                     else "") + "); compile_s is the first call at each batch size (compilation + one run)")
    if dev.type == "cpu":
        busy = _busy_cpu_note()
        if busy:
            notes.append(busy)
    if cfg.memory:
        notes.append("memory: CUDA peak allocated / reserved after reset_peak_memory_stats (weights included); "
                     "on CPU the peak RSS of the process during the row minus its RSS before the row (after "
                     "malloc_trim returned earlier rows' freed memory to the OS)")
    return notes


def _busy_cpu_note() -> str | None:
    """A warning when other processes already load the cores: CPU timings then measure them too, and
    OpenMP threads that spin-wait for busy cores can make multi-thread runs several times slower."""
    import os

    try:
        load = os.getloadavg()[0]
    except OSError:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if load < 0.75 * cores:
        return None
    return (f"busy machine: load average {load:.1f} on {cores} cores when the run started, so timings include "
            "other processes' load; prefer --threads 1, or set OMP_WAIT_POLICY=PASSIVE before starting")


class _Progress:
    """A rich progress bar on stderr that only redraws between rows (no refresh thread while timing)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self._p: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            from zoo.cli.output import console

            self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                               TimeElapsedColumn(), console=console(stderr=True), auto_refresh=False,
                               transient=True)
            self._p.__enter__()
            self._task = self._p.add_task("zoo bench", total=self.total)
            self._p.refresh()
        return self

    def describe(self, text: str) -> None:
        if self._p is not None:
            self._p.update(self._task, description=text)
            self._p.refresh()

    def advance(self, n: int = 1) -> None:
        if self._p is not None:
            self._p.advance(self._task, n)
            self._p.refresh()

    def __exit__(self, *exc: Any) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
