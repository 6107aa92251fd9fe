"""Benchmark results as dataclasses: one BenchRow per (model, kind, batch size), JSON and CSV that
round-trip, and the baseline comparison behind `--compare`. Nothing here imports torch, so reading
and comparing reports is fast."""

from __future__ import annotations

import csv
import io
import json
import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zoo.errors import ArgumentError, InputError
from zoo.fsutil import write_text_atomic

SCHEMA = "cvzoo.bench/1"
FORWARD = "forward"
END_TO_END = "end-to-end"


@dataclass
class EnvInfo:
    """Where the numbers came from: enough to tell whether two reports are comparable."""

    device: str = "cpu"  # the torch device the harness ran on
    device_name: str = ""  # GPU name, or the CPU model for device cpu
    cpu_model: str = ""  # from /proc/cpuinfo (or platform.processor())
    cpu_isa: str = ""  # torch.backends.cpu.get_cpu_capability(): the kernels torch picked (AVX2, AVX512, ...)
    cpu_count: int = 0  # logical CPUs of the machine
    cpu_affinity: int = 0  # CPUs this process may run on
    threads: int = 0  # torch.get_num_threads() during the run
    interop_threads: int = 0
    thread_wait: str = ""  # how idle pool threads wait (OMP_WAIT_POLICY; zoo.threads): spinning skews busy machines
    loadavg_1m: float | None = None  # machine load when the run started (others sharing the cores)
    gpu_memory: int | None = None  # bytes
    gpu_capability: str = ""
    precision: str = "fp32"
    dtype: str = "float32"  # the autocast dtype (float32: no autocast)
    torch: str = ""
    cuda: str = ""  # torch.version.cuda ("" for a CPU build)
    cudnn: str = ""
    python: str = ""
    platform: str = ""
    numpy: str = ""
    cvzoo: str = ""
    git_revision: str = ""  # of the cvzoo checkout, when run from one
    git_dirty: bool | None = None


@dataclass
class BenchRow:
    """One measurement: a model's `forward` (or pre + forward + post) at one batch size."""

    model: str
    kind: str = FORWARD  # "forward" or "end-to-end"
    batch_size: int = 1
    status: str = "ok"  # ok | oom | error | unsupported
    error: str = ""  # one line when status is not ok
    task: str = ""
    weights: str = "random init"  # "random init" or the weights tag the model holds
    input_size: str = ""  # "HxW" the network saw
    device: str = "cpu"
    precision: str = "fp32"
    channels_last: bool = False
    compiled: bool = False
    fused: bool = False  # conv-BN folding applied
    warmup: int = 0
    iters: int = 0  # timed iterations actually run
    # latency of one call in milliseconds, with device synchronisation
    mean_ms: float | None = None
    std_ms: float | None = None
    cv: float | None = None  # coefficient of variation: std / mean
    min_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    throughput: float | None = None  # images per second (batch size / mean latency)
    first_call_ms: float | None = None  # the first (cold) call; includes compilation with --compile
    compile_s: float | None = None  # --compile: seconds of the first call at this batch size (compile + one run);
    # a runtime backend's: seconds to compile the exported network (backend_info)
    preprocess_ms: float | None = None  # end-to-end rows: median of each stage
    forward_ms: float | None = None
    postprocess_ms: float | None = None
    params: int | None = None
    macs: float | None = None  # multiply-accumulates of one call at this batch size
    flops: float | None = None  # = 2 x macs (torch.utils.flop_counter counts FLOPs = 2 x MACs)
    gflops_per_s: float | None = None  # achieved: flops / mean latency
    peak_gflops_per_s: float | None = None  # measured large-matmul rate on the same device and dtype
    pct_of_peak: float | None = None
    cuda_allocated: int | None = None  # bytes: torch.cuda.max_memory_allocated (weights included)
    cuda_reserved: int | None = None  # bytes: torch.cuda.max_memory_reserved
    rss_peak: int | None = None  # bytes: peak resident set size of the process during the row (CPU)
    rss_delta: int | None = None  # bytes: rss_peak minus the RSS before the row (the model already loaded)
    memory_method: str = ""  # how memory was measured
    backend: str = "torch"  # what ran the network: torch (eager), onnxruntime, openvino (zoo bench --backend)
    export_s: float | None = None  # runtime backends: seconds to export the network (0-ish on a cache hit)
    cache_hit: bool | None = None  # runtime backends: the export came from the ZOO_HOME cache
    parity_max_abs: float | None = None  # --backend: max abs difference of the raw outputs vs torch fp32
    parity_detections: str = ""  # --backend, detectors: "same" or "differ: why" (a real photo, vs torch fp32)
    guard: str = ""  # runtime fp16/bf16/int8: the accuracy guard's verdict on the calibration photos (zoo.runtimes.guard)
    variant: str = ""  # `zoo bench --optimize`: "optimize:<candidate>" ("" for the ordinary rows)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def gmacs_per_image(self) -> float | None:
        return None if self.macs is None else self.macs / self.batch_size / 1e9

    def key(self) -> tuple[Any, ...]:
        """What identifies a row across runs (the device is not part of it: its change is an env note)."""
        return (self.model, self.kind, self.batch_size, self.input_size, self.precision, self.channels_last,
                self.compiled, self.fused, self.backend) + ((self.variant,) if self.variant else ())

    def label(self) -> str:
        flags = [self.precision] + [f for f, on in (("channels_last", self.channels_last),
                                                    ("compile", self.compiled), ("fuse", self.fused)) if on]
        where = "" if self.backend == "torch" else f" [{self.backend}]"
        return (f"{self.model}{where} {self.kind} bs={self.batch_size} {self.input_size} {'+'.join(flags)}"
                + (f" [{self.variant}]" if self.variant else ""))


@dataclass
class BenchReport:
    """Every row of one harness run, the environment it ran in, and the settings used."""

    rows: list[BenchRow] = field(default_factory=list)
    env: EnvInfo = field(default_factory=EnvInfo)
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    schema: str = SCHEMA

    # ------------------------------------------------------------------ access
    def find(self, model: str, batch_size: int, kind: str = FORWARD) -> BenchRow | None:
        for r in self.rows:
            if r.model == model and r.batch_size == batch_size and r.kind == kind:
                return r
        return None

    def row(self, model: str, batch_size: int, kind: str = FORWARD) -> BenchRow:
        r = self.find(model, batch_size, kind)
        if r is None:
            raise KeyError(f"no {kind} row for {model} at batch size {batch_size}")
        return r

    @property
    def ok(self) -> bool:
        """True when every row measured (oom/error/unsupported rows make it False)."""
        return all(r.ok for r in self.rows)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "created": self.created, "env": asdict(self.env), "config": self.config,
                "notes": list(self.notes), "rows": [asdict(r) for r in self.rows]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchReport:
        if not isinstance(data, dict):  # e.g. a file holding [] or a bare number
            raise InputError(f"not a cvzoo benchmark report (a JSON {type(data).__name__}, expected an object "
                             f"with schema {SCHEMA!r} and rows)")
        schema = data.get("schema", "")
        if not str(schema).startswith("cvzoo.bench/"):
            raise InputError(f"not a cvzoo benchmark report (schema {schema!r}, expected {SCHEMA!r})")
        return cls(rows=[_from_fields(BenchRow, r) for r in data.get("rows", [])],
                   env=_from_fields(EnvInfo, data.get("env", {})), config=dict(data.get("config", {})),
                   notes=list(data.get("notes", [])), created=data.get("created", ""), schema=schema)

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as one JSON document; written to `path` when given."""
        return _written(json.dumps(self.to_dict(), indent=2, allow_nan=False, default=str) + "\n", path)

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> BenchReport:
        text = _text_of(path_or_text, str(path_or_text).lstrip().startswith("{"))
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise InputError(f"benchmark report {path_or_text} is not valid JSON: {e}") from None

    # ------------------------------------------------------------------ CSV
    def to_csv(self, path: str | Path | None = None) -> str:
        """One line per row; the environment is repeated in env_* columns so each line stands alone."""
        row_cols = [f.name for f in fields(BenchRow)]
        env_cols = [f"env_{f.name}" for f in fields(EnvInfo)]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(row_cols + env_cols + ["created", "schema"])
        env = [_csv_cell(getattr(self.env, f.name)) for f in fields(EnvInfo)]
        for r in self.rows:
            writer.writerow([_csv_cell(getattr(r, c)) for c in row_cols] + env + [self.created, self.schema])
        return _written(buf.getvalue(), path)

    @classmethod
    def from_csv(cls, path_or_text: str | Path) -> BenchReport:
        text = _text_of(path_or_text, "\n" in str(path_or_text))
        lines = list(csv.DictReader(io.StringIO(text)))
        rows = [_from_fields(BenchRow, {k: v for k, v in line.items() if not k.startswith("env_")}, from_text=True)
                for line in lines]
        env = EnvInfo()
        created, schema = "", SCHEMA
        if lines:
            first = lines[0]
            env = _from_fields(EnvInfo, {k[4:]: v for k, v in first.items() if k.startswith("env_")}, from_text=True)
            created, schema = first.get("created", ""), first.get("schema", SCHEMA)
        return cls(rows=rows, env=env, created=created, schema=schema)


# ---------------------------------------------------------------------- (de)serialisation helpers

def _written(text: str, path: str | Path | None) -> str:
    """`text`, written atomically to `path` first when one is given."""
    if path is not None:
        write_text_atomic(path, text)
    return text


def _text_of(path_or_text: str | Path, is_text: bool) -> str:
    """A report's text: given as is, or read from a file (an unreadable file is one InputError line)."""
    if is_text:
        return str(path_or_text)
    try:
        return Path(path_or_text).read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read benchmark report {path_or_text}: {e.strerror}") from None


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _from_fields(cls: type, data: dict[str, Any], from_text: bool = False) -> Any:
    """Build a dataclass from a mapping, ignoring unknown keys (newer reports) and converting CSV text."""
    hints = _hints(cls)
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        kwargs[f.name] = _convert(value, hints[f.name]) if from_text else value
    return cls(**kwargs)


def _convert(text: Any, hint: Any) -> Any:
    """CSV cell text -> the field's type (empty cell -> None for optional fields)."""
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if isinstance(hint, types.UnionType) else hint
    if text == "" and optional:
        return None
    if base is bool:
        return str(text).lower() in ("true", "1", "yes")
    if base is int:
        return int(float(text))
    if base is float:
        return float(text)
    return text


# ---------------------------------------------------------------------- compare

@dataclass
class CompareRow:
    """One row of `--compare`: current against baseline for the same key."""

    label: str
    baseline_ms: float | None
    current_ms: float | None
    ratio: float | None  # current / baseline: > 1 is slower
    verdict: str  # ok | faster | regression | failed | new | missing


@dataclass
class Comparison:
    """The regression gate: fails when a row got slower than the threshold or stopped measuring."""

    rows: list[CompareRow]
    max_regression: float
    stat: str = "p50_ms"
    env_changes: list[str] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return sum(r.ratio is not None or r.verdict == "failed" for r in self.rows)

    @property
    def passed(self) -> bool:
        if self.matched == 0:
            return False  # nothing in common with the baseline: a gate that compares nothing must not pass
        return not any(r.verdict in ("regression", "failed") for r in self.rows)

    def summary(self) -> str:
        bad = [r for r in self.rows if r.verdict in ("regression", "failed")]
        if self.matched == 0:
            return "FAIL: no row in common with the baseline (different models, batch sizes or flags?)"
        if bad:
            worst = max((r.ratio or math.inf) for r in bad)
            return (f"FAIL: {len(bad)} of {self.matched} rows regressed past {self.max_regression:.0%} "
                    f"(worst {'did not run' if worst == math.inf else f'{worst:.3f}x'})")
        return f"PASS: {self.matched} rows within {self.max_regression:.0%} of the baseline"


def compare(current: BenchReport, baseline: BenchReport, max_regression: float = 0.10,
            stat: str = "p50_ms") -> Comparison:
    """Ratio current/baseline of `stat` per matching row; past 1 + max_regression is a regression."""
    if stat not in {f.name for f in fields(BenchRow)} or not stat.endswith("_ms"):
        raise InputError(f"cannot compare on '{stat}' (use p50_ms, mean_ms, min_ms, p90_ms, p99_ms)")
    if max_regression < 0:
        raise ArgumentError("max_regression", "{} must be >= 0 (0.10 means 10% slower fails)")
    base = {r.key(): r for r in baseline.rows}
    seen = set()
    out = []
    for r in current.rows:
        b = base.get(r.key())
        if b is None:
            out.append(CompareRow(r.label(), None, getattr(r, stat), None, "new"))
            continue
        seen.add(r.key())
        bv, cv = getattr(b, stat), getattr(r, stat)
        if not b.ok or bv is None:
            out.append(CompareRow(r.label(), None, cv, None, "new"))  # the baseline never measured it
        elif not r.ok or cv is None:
            out.append(CompareRow(r.label() + f" [{r.status}]", bv, None, None, "failed"))
        else:
            ratio = cv / bv if bv > 0 else math.inf
            verdict = ("regression" if ratio > 1 + max_regression
                       else "faster" if ratio < 1 - max_regression else "ok")
            out.append(CompareRow(r.label(), bv, cv, ratio, verdict))
    for key, b in base.items():
        if key not in seen:
            out.append(CompareRow(b.label(), getattr(b, stat), None, None, "missing"))
    changes = [f"{name}: {getattr(baseline.env, name)!r} -> {getattr(current.env, name)!r}"
               for name in ("device_name", "cpu_model", "threads", "torch", "cuda", "cvzoo", "git_revision")
               if getattr(baseline.env, name) != getattr(current.env, name)]
    return Comparison(out, max_regression, stat, changes)
