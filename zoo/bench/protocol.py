"""The timing protocol: warm-up, then timed calls with device synchronisation, then statistics.

On CUDA every call is bracketed by CUDA events and waited for, so each sample is the latency of one
call (kernels queued by the previous call cannot overlap it). On CPU each call is timed with
perf_counter. The timed loop holds no instrumentation: memory and FLOPs are measured elsewhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class LatencyStats:
    """Summary of per-call latencies in milliseconds."""

    n: int
    mean_ms: float
    std_ms: float
    cv: float  # std / mean
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def from_seconds(cls, samples: list[float]) -> LatencyStats:
        if not samples:
            raise ValueError("no latency samples")
        ms = sorted(s * 1e3 for s in samples)
        n = len(ms)
        mean = math.fsum(ms) / n
        std = math.sqrt(math.fsum((x - mean) ** 2 for x in ms) / (n - 1)) if n > 1 else 0.0
        return cls(n, mean, std, std / mean if mean > 0 else 0.0, ms[0], percentile(ms, 50), percentile(ms, 90),
                   percentile(ms, 99), ms[-1])


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default method) of already sorted values."""
    if not sorted_values:
        raise ValueError("percentile of nothing")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
    elif device.type == "xpu":
        torch.xpu.synchronize(device)


def time_first_call(step: Callable[[], Any], device: torch.device) -> float:
    """Seconds of one synchronised call (the cold call: lazy init, autotuning, compilation)."""
    synchronize(device)
    t0 = time.perf_counter()
    step()
    synchronize(device)
    return time.perf_counter() - t0


def warm_up(step: Callable[[], Any], n: int, device: torch.device) -> None:
    for _ in range(n):
        step()
    synchronize(device)


def time_calls(step: Callable[[], Any], device: torch.device, iters: int | None = None,
               time_budget: float | None = None, min_iters: int = 2) -> list[float]:
    """Per-call latencies in seconds: `iters` calls, or calls until `time_budget` seconds are spent
    (whichever ends first; at least `min_iters` with a budget)."""
    if iters is None and time_budget is None:
        raise ValueError("give iters, time_budget or both")
    limit = iters if iters is not None else math.inf
    deadline = None if time_budget is None else time.perf_counter() + time_budget
    synchronize(device)
    if device.type == "cuda":
        return _time_cuda(step, device, limit, deadline, min_iters)
    out: list[float] = []
    clock = time.perf_counter
    needs_sync = device.type != "cpu"
    while len(out) < limit:
        t0 = clock()
        step()
        if needs_sync:
            synchronize(device)
        t1 = clock()
        out.append(t1 - t0)
        if deadline is not None and t1 >= deadline and len(out) >= min_iters:
            break
    return out


def _time_cuda(step: Callable[[], Any], device: torch.device, limit: float, deadline: float | None,
               min_iters: int) -> list[float]:
    out: list[float] = []
    with torch.cuda.device(device):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        while len(out) < limit:
            start.record()
            step()
            end.record()
            end.synchronize()  # the call is finished before the next starts: one latency per sample
            out.append(start.elapsed_time(end) / 1e3)
            if deadline is not None and time.perf_counter() >= deadline and len(out) >= min_iters:
                break
    return out
