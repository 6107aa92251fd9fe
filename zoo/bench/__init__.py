"""The benchmark harness: `zoo.bench(...)` / `zoo bench ...` (one protocol for every model).

    import zoo
    report = zoo.bench("resnet50", batch_sizes=[1, 8], device="cpu")
    report.row("resnet50", 8).p50_ms
    report.to_json("bench.json")

Modules: protocol (timing), memory (peak memory), flops (FLOP counting and matmul peak), env
(fingerprint), report (dataclasses, JSON/CSV, compare, tables), plot (matplotlib), runner (the loop).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from zoo.bench.report import BenchReport, BenchRow, Comparison, EnvInfo, compare

__all__ = ["BenchReport", "BenchRow", "Comparison", "EnvInfo", "bench", "compare"]


def bench(*args: Any, **kwargs: Any) -> BenchReport:
    """Benchmark models by name, pattern, ZooModel object or task; see zoo.bench.runner.bench."""
    from zoo.bench.runner import bench as _bench

    return _bench(*args, **kwargs)




class _CallableModule(types.ModuleType):
    """`zoo.bench` is both this package and the API function: importing a submodule such as
    zoo.bench.report makes `zoo.bench` name the package, so the package itself must be callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> BenchReport:
        return bench(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
