"""Bench history: every `zoo bench` run keeps its JSON report in ZOO_HOME/bench/, one file per run, named by
its date and the machine's fingerprint, so `zoo report` finds this machine's measurements without flags."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from zoo.bench.report import BenchReport, EnvInfo

HISTORY_DIR = "bench"  # under ZOO_HOME
FINGERPRINT_FIELDS = ("device", "device_name", "cpu_model", "cpu_count", "gpu_memory")  # what names a machine


def history_dir() -> Path:
    from zoo.paths import zoo_home

    return zoo_home() / HISTORY_DIR


def machine_fingerprint(env: EnvInfo) -> str:
    """12 hex digits naming the machine a report ran on (device, its name, CPU model and count, GPU memory)."""
    text = "|".join(str(getattr(env, f, "")) for f in FINGERPRINT_FIELDS)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def save_to_history(report: BenchReport, folder: Path | None = None) -> Path:
    """Write `report` as `<UTC date-time>-<fingerprint>.json` in the history folder (atomically; a second run in
    the same second gets a numbered name, never overwriting an earlier run)."""
    folder = history_dir() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"{stamp}-{machine_fingerprint(report.env)}"
    path = folder / f"{stem}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.json"
    report.to_json(path)
    return path
