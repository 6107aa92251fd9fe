"""FLOPs with torch's own counter, and the device's measured matmul peak to compare them against.

torch.utils.flop_counter.FlopCounterMode counts 2 FLOPs per multiply-accumulate (a conv or matmul
of M MACs is 2M FLOPs), so MACs = FLOPs / 2. Only ops it has formulas for count (convolutions,
matmuls, attention); elementwise ops, normalisation and pooling are not counted, which is the same
convention as published GMACs tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from zoo.bench.protocol import synchronize

_PEAKS: dict[tuple[str, str, int], float] = {}


def count_flops(fn: Callable[..., Any], *args: Any) -> int:
    """FLOPs of one call of fn(*args), counted by torch.utils.flop_counter (inference mode)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        fn(*args)
    return int(counter.get_total_flops())


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype = torch.float32, seconds: float = 0.25) -> float:
    """The best GFLOP/s of a large square matmul on `device` in `dtype`: the practical peak that
    achieved model throughput is a percentage of. Cached per device, dtype and thread count."""
    key = (str(device), str(dtype), torch.get_num_threads() if device.type == "cpu" else 0)
    if key in _PEAKS:
        return _PEAKS[key]
    n = 1024 if device.type == "cpu" else 8192
    with torch.inference_mode():
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        torch.mm(a, b)  # first call: library init, kernel selection
        synchronize(device)
        best = float("inf")
        deadline = time.perf_counter() + seconds
        reps = 0
        while reps < 3 or time.perf_counter() < deadline:
            t0 = time.perf_counter()
            torch.mm(a, b)
            synchronize(device)
            best = min(best, time.perf_counter() - t0)
            reps += 1
            if reps >= 50:
                break
    peak = 2 * n**3 / best / 1e9
    _PEAKS[key] = peak
    return peak
