"""The benchmark harness: `zoo.benchmark(...)` / `zoo bench ...` (one protocol for every model).

    import zoo
    report = zoo.benchmark("resnet50", batch_sizes=[1, 8], device="cpu")
    report.row("resnet50", 8).p50_ms
    report.to_json("bench.json")

Modules: config (BenchConfig), targets (names/patterns/task -> models), prepare (build, fuse, channels_last,
compile; public for scripts in benchmarks/), rows (timing one row), protocol (timing calls), memory (peak
memory), flops (FLOP counting and matmul peak), env (fingerprint), notes (how each number was measured),
progress (what a run reports as it goes; the CLI draws the bar), report (dataclasses, JSON/CSV, compare),
plot (matplotlib), runner (the loop).
Rendering tables is the CLI's job (zoo.cli.bench_render); device names are zoo.devices'.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from zoo.bench.report import BenchReport, BenchRow, Comparison, EnvInfo, compare

__all__ = ["BenchReport", "BenchRow", "Comparison", "EnvInfo", "bench", "compare"]


def bench(*args: Any, **kwargs: Any) -> BenchReport:
    """Deprecated: use `zoo.benchmark(...)` (same arguments; see zoo.bench.runner.bench)."""
    import warnings

    from zoo.bench.runner import bench as _bench

    warnings.warn("zoo.bench(...) is deprecated and goes in the next release: use zoo.benchmark(...)",
                  DeprecationWarning, stacklevel=2)
    return _bench(*args, **kwargs)


class _CallableModule(types.ModuleType):
    """Kept for one release so old `zoo.bench(...)` calls still work (with a DeprecationWarning): importing
    a submodule makes `zoo.bench` name this package, so the package forwards calls to `bench`."""

    def __call__(self, *args: Any, **kwargs: Any) -> BenchReport:
        return bench(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
