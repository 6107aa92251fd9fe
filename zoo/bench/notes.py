"""The notes a bench report carries: how it measured (protocol, FLOPs, e2e, precision, compile, memory)
and what may skew the numbers on this machine (emulated fp16/bf16, TF32, a busy CPU)."""

from __future__ import annotations

import torch

from zoo.bench.config import BenchConfig
from zoo.devices import DTYPES, cpu_has_native

RANDOM_INIT_E2E = ("random init: forward latency does not depend on the weights, but postprocess work "
                   "(score thresholds, NMS, decoding) does, so e2e rows of random-init detectors are "
                   "not representative of trained ones")


def protocol_notes(cfg: BenchConfig, dev: torch.device) -> list[str]:
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
    if dev.type == "cpu" and cfg.precision == "fp16" and not cpu_has_native("fp16"):
        notes.append("fp16 on this CPU: autocast runs, but the CPU has no native fp16 arithmetic "
                     "(no avx512_fp16 / amx_fp16), so it is emulated and usually much slower than fp32")
    if dev.type == "cpu" and cfg.precision == "bf16" and not cpu_has_native("bf16"):
        notes.append("bf16 on this CPU: no avx512_bf16 / amx_bf16, so bf16 math is emulated")
    if dev.type == "cuda" and cfg.precision == "fp32" and torch.backends.cudnn.allow_tf32:
        notes.append("CUDA fp32: cuDNN convolutions may use TF32 (torch.backends.cudnn.allow_tf32 is True), "
                     "faster than the fp32 matmul reference; a row above it raises the reference to its own rate")
    from zoo.settings import verify_mode

    if verify_mode() == "never":
        notes.append("ZOO_VERIFY=never: cached weights were loaded without checking their sha256 against the lock")
    if cfg.compile:
        notes.append("compile: torch.compile(dynamic=False" + (f", mode={cfg.compile_mode!r}" if cfg.compile_mode
                     else "") + "); compile_s is the first call at each batch size (compilation + one run)")
    if dev.type == "cpu":
        from zoo.threads import policy_note

        notes.append(policy_note())
        busy = busy_cpu_note()
        if busy:
            notes.append(busy)
    if cfg.memory:
        notes.append("memory: CUDA peak allocated / reserved after reset_peak_memory_stats (weights included); "
                     "on CPU the peak RSS of the process during the row minus its RSS before the row (after "
                     "malloc_trim returned earlier rows' freed memory to the OS)")
    return notes


def busy_cpu_note() -> str | None:
    """A warning when other processes already load the cores: CPU timings then measure them too, and
    OpenMP threads that spin-wait for busy cores can make multi-thread runs several times slower."""
    import os

    from zoo.threads import threads_sleep

    try:
        load = os.getloadavg()[0]
    except OSError:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if load < 0.75 * cores:
        return None
    return (f"busy machine: load average {load:.1f} on {cores} cores when the run started, so timings include "
            "other processes' load; prefer --threads 1" + ("" if threads_sleep() else
                                                           ", or set OMP_WAIT_POLICY=PASSIVE before starting"))
