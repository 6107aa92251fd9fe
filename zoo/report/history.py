"""Reading bench reports for the site: every JSON file in ZOO_HOME/bench/ plus the ones given with --bench.
Rows are read defensively (a key missing or of the wrong type is None; newer columns such as a guard are kept
as they come), and a file that is not a report is one warning, never the end of the build."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.bench.report import FORWARD, EnvInfo


@dataclass(frozen=True)
class Measurement:
    """One bench row as the site shows it, with the run and machine it came from."""

    model: str
    machine: str  # a short label naming the machine (device name, CPU count)
    created: str  # the run's date (ISO 8601)
    source: str  # the report file
    this_machine: bool
    kind: str = FORWARD
    batch_size: int = 1
    status: str = "ok"
    error: str = ""
    device: str = "cpu"
    backend: str = "torch"
    precision: str = "fp32"
    input_size: str = ""
    weights: str = ""
    variant: str = ""
    flags: str = ""  # channels_last / compile / fuse, joined with '+'
    p50_ms: float | None = None
    p90_ms: float | None = None
    throughput: float | None = None
    pct_of_peak: float | None = None
    memory: int | None = None  # bytes: CUDA peak allocated, else the process's peak RSS
    parity: str = ""  # vs torch fp32: max abs difference, detections verdict, guard (what the row holds)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.p50_ms is not None

    def config(self) -> str:
        """backend / precision (+ flags): what the speed-up chart and the index name a configuration by."""
        return f"{self.backend}/{self.precision}" + (f"+{self.flags}" if self.flags else "") + \
            (f" [{self.variant}]" if self.variant else "")

    def key(self) -> tuple[Any, ...]:
        """Rows with the same key are the same measurement taken again: the newest one is shown."""
        return (self.model, self.machine, self.kind, self.batch_size, self.device, self.backend, self.precision,
                self.input_size, self.flags, self.variant)


@dataclass(frozen=True)
class BenchRun:
    """One report file: when, where, how many rows."""

    path: str
    created: str
    machine: str
    this_machine: bool
    env: dict[str, Any]
    rows: int
    models: tuple[str, ...]


@dataclass
class History:
    runs: list[BenchRun] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def latest(self) -> list[Measurement]:
        """The newest measurement of each key (a model re-benchmarked shows its last numbers)."""
        best: dict[tuple[Any, ...], Measurement] = {}
        for m in self.measurements:
            old = best.get(m.key())
            if old is None or m.created >= old.created:
                best[m.key()] = m
        return list(best.values())


def machine_label(env: dict[str, Any]) -> str:
    """'Intel Xeon ... (cpu, 2 CPUs)' or 'NVIDIA H100 (cuda)': how pages name where a row ran."""
    name = str(env.get("device_name") or env.get("cpu_model") or "unknown machine")
    device = str(env.get("device") or "cpu").split(":")[0]
    cpus = _int(env.get("cpu_count"))
    return f"{name} ({device}" + (f", {cpus} CPUs)" if cpus and device == "cpu" else ")")


def is_this_machine(env: dict[str, Any], cpu_model: str, cpu_count: int) -> bool:
    """A report ran here when its CPU model and count are this machine's (any device of it)."""
    return str(env.get("cpu_model", "")) == cpu_model and _int(env.get("cpu_count")) == cpu_count


def read_history(folder: Path | None, extra: list[Path], cpu_model: str, cpu_count: int) -> History:
    """Every report in `folder` (newest last) and in `extra`; a file that cannot be read is one warning."""
    files: list[Path] = []
    if folder is not None and folder.is_dir():
        files.extend(sorted(folder.glob("*.json")))
    files.extend(p for p in extra if p not in files)
    out = History()
    for path in files:
        try:
            run, rows = read_report(path, cpu_model, cpu_count)
        except ValueError as e:
            out.warnings.append(f"{path}: {e}; left out")
            continue
        out.runs.append(run)
        out.measurements.extend(rows)
    return out


def read_report(path: Path, cpu_model: str, cpu_count: int) -> tuple[BenchRun, list[Measurement]]:
    """One report file (JSON, or the CSV `zoo bench --csv` writes); ValueError (one line) when it is not a cvzoo
    bench report."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot read it ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"not text ({e})") from None
    if path.suffix.lower() == ".csv":
        data = _csv_report(text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON ({e})") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("cvzoo.bench/"):
        raise ValueError("not a cvzoo bench report (no 'schema': 'cvzoo.bench/...')")
    env = data.get("env") if isinstance(data.get("env"), dict) else {}
    rows = data.get("rows") if isinstance(data.get("rows"), list) else None
    if rows is None:
        raise ValueError("its 'rows' is not a list")
    here = is_this_machine(env, cpu_model, cpu_count)
    label = machine_label(env)
    created = str(data.get("created") or "")
    found = [m for r in rows if (m := _measurement(r, label, created, str(path), here)) is not None]
    run = BenchRun(str(path), created, label, here, {k: env[k] for k in EnvInfo.__dataclass_fields__ if k in env},
                   len(found), tuple(sorted({m.model for m in found})))
    return run, found


def _csv_report(text: str) -> dict[str, Any]:
    """A `zoo bench --csv` file as the JSON report's dict (BenchReport reads it; a bad cell is one ValueError)."""
    from zoo.bench.report import BenchReport
    from zoo.errors import ZooError

    if not text.startswith("model,"):
        raise ValueError("not a zoo bench CSV (its header does not start with 'model,')")
    try:
        return BenchReport.from_csv(text).to_dict()
    except (ZooError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"not a zoo bench CSV ({e})") from None


def _measurement(row: Any, machine: str, created: str, source: str, here: bool) -> Measurement | None:
    """A row dict -> Measurement; a row without a model name is skipped."""
    if not isinstance(row, dict) or not isinstance(row.get("model"), str) or not row["model"]:
        return None
    flags = "+".join(f for f, key in (("channels_last", "channels_last"), ("compile", "compiled"), ("fuse", "fused"))
                     if row.get(key) is True)
    memory = _int(row.get("cuda_allocated")) or _int(row.get("rss_peak"))
    return Measurement(
        model=row["model"], machine=machine, created=created, source=source, this_machine=here,
        kind=_str(row.get("kind"), FORWARD), batch_size=_int(row.get("batch_size")) or 1,
        status=_str(row.get("status"), "ok"), error=_str(row.get("error"), ""), device=_str(row.get("device"), "cpu"),
        backend=_str(row.get("backend"), "torch"), precision=_str(row.get("precision"), "fp32"),
        input_size=_str(row.get("input_size"), ""), weights=_str(row.get("weights"), ""),
        variant=_str(row.get("variant"), ""), flags=flags, p50_ms=_float(row.get("p50_ms")),
        p90_ms=_float(row.get("p90_ms")), throughput=_float(row.get("throughput")),
        pct_of_peak=_float(row.get("pct_of_peak")), memory=memory, parity=_parity(row))


def _parity(row: dict[str, Any]) -> str:
    """What a row says about its outputs against torch fp32 (columns other branches add are shown as they come)."""
    parts = []
    if (d := _float(row.get("parity_max_abs"))) is not None:
        parts.append(f"max abs {d:.2g}")
    if isinstance(row.get("parity_detections"), str) and row["parity_detections"]:
        parts.append(f"detections {row['parity_detections']}")
    guard = row.get("guard")
    if guard not in (None, "", {}, []):
        parts.append(f"guard {guard if isinstance(guard, str) else json.dumps(guard, default=str)}")
    return "; ".join(parts)


def _str(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
