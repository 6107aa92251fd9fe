"""Bench reports for the report tests: real BenchReport JSON (as `zoo bench` writes it), made without timing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zoo.bench.env import cpu_model
from zoo.bench.report import BenchReport, BenchRow, EnvInfo


def here_env(**kw: Any) -> EnvInfo:
    """The environment of a CPU run on this machine."""
    return EnvInfo(device="cpu", device_name=cpu_model(), cpu_model=cpu_model(), cpu_count=os.cpu_count() or 0,
                   torch="2.x", **kw)


def gpu_env() -> EnvInfo:
    return EnvInfo(device="cuda", device_name="NVIDIA H100", cpu_model="AMD EPYC 9654", cpu_count=192, torch="2.x")


def row(model: str, p50: float | None, bs: int = 1, backend: str = "torch", precision: str = "fp32", **kw: Any) -> BenchRow:
    """A forward row (p50 None: a failed row, no timings)."""
    return BenchRow(model=model, batch_size=bs, backend=backend, precision=precision, p50_ms=p50,
                    p90_ms=None if p50 is None else p50 * 1.1, throughput=None if p50 is None else bs / p50 * 1e3,
                    input_size=kw.pop("input_size", "224x224"), **kw)


def write_report(path: Path, rows: list[BenchRow], env: EnvInfo | None = None, created: str = "2026-12-01T10:00:00+00:00") -> Path:
    BenchReport(rows=rows, env=env or here_env(), created=created).to_json(path)
    return path
