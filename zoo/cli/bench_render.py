"""Rendering bench reports for the terminal (rich tables): the data and its JSON/CSV live in
zoo.bench.report, which imports nothing of the CLI."""

from __future__ import annotations

from typing import Any

from zoo.bench.report import END_TO_END, FORWARD, BenchReport, BenchRow, Comparison
from zoo.cli.output import human_bytes


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "" if v is None else format(v, spec)


def _bytes(n: int | None) -> str:
    return human_bytes(n) if n is not None else ""


def _memory(r: BenchRow) -> str:
    if r.cuda_allocated is not None:
        return f"{_bytes(r.cuda_allocated)} / {_bytes(r.cuda_reserved)}"
    if r.rss_delta is not None:
        return f"+{_bytes(max(r.rss_delta, 0))}"
    return ""


def _rate(gflops: float | None) -> str:
    if gflops is None:
        return ""
    return f"{gflops / 1000:.2f} TFLOP/s" if gflops >= 1000 else f"{gflops:.1f} GFLOP/s"


def report_table(report: BenchReport) -> Any:
    """The rich Table of a report (models x batch sizes x forward / end-to-end)."""
    from rich.table import Table

    env = report.env
    title = (f"zoo bench: {env.device_name or env.device} ({env.device}), {env.precision}, "
             f"{env.threads} threads, torch {env.torch}")
    t = Table(title=title, header_style="bold", show_lines=False)
    cuda = any(r.cuda_allocated is not None for r in report.rows)
    right = {"batch", "p50 ms", "p90 ms", "p99 ms", "mean ms (cv)", "img/s", "GMACs/img", "achieved (% peak)",
             "first call"}
    # zoo bench --backend / several precisions: which runtime ran the row, its first call (export and compile
    # apart) and parity vs torch fp32 take the place of p90/p99, GMACs and achieved FLOP/s (in JSON/CSV still)
    runtimes = any(r.backend != "torch" or r.parity_max_abs is not None for r in report.rows)
    memory = "CUDA alloc / reserved" if cuda else "RSS Δ peak"
    columns = (("model", "backend", "row", "batch", "input", "p50 ms", "mean ms (cv)", "img/s", "first call",
                "parity vs torch fp32", "guard", memory, "notes") if runtimes else
               ("model", "row", "batch", "input", "p50 ms", "p90 ms", "p99 ms", "mean ms (cv)", "img/s", "GMACs/img",
                "achieved (% peak)", memory, "notes"))
    for c in columns:
        t.add_column(c, overflow="fold", justify="right" if c in right else "left")
    prev = None
    for r in report.rows:
        notes = ([r.variant] if r.variant else []) + [f for f, on in (("channels_last", r.channels_last),
                                                                        ("fused", r.fused)) if on]
        if r.compile_s is not None and r.backend == "torch":
            notes.append(f"compile {r.compile_s:.1f}s")
        if r.kind == END_TO_END and r.ok:
            notes.append(f"pre/fwd/post {_fmt(r.preprocess_ms)}/{_fmt(r.forward_ms)}/{_fmt(r.postprocess_ms)} ms")
        if not r.ok:
            notes.insert(0, f"[red]{r.status.upper()}[/red] {r.error}")
        same = prev is not None and prev.model == r.model and prev.weights == r.weights
        cells = {
            "model": "" if same else f"{r.model}\n[dim]{r.weights}[/dim]",
            "backend": f"{r.backend} {r.precision}", "row": "fwd" if r.kind == FORWARD else "e2e",
            "batch": str(r.batch_size), "input": r.input_size, "p50 ms": _fmt(r.p50_ms), "p90 ms": _fmt(r.p90_ms),
            "p99 ms": _fmt(r.p99_ms),
            "mean ms (cv)": f"{_fmt(r.mean_ms)} ({r.cv:.0%})" if r.mean_ms is not None and r.cv is not None else "",
            "img/s": _fmt(r.throughput, ".1f"), "GMACs/img": _fmt(r.gmacs_per_image, ".3f"),
            "achieved (% peak)": _rate(r.gflops_per_s) + (f" ({r.pct_of_peak:.0f}%)" if r.pct_of_peak is not None
                                                          else ""),
            "first call": _first_call(r), "parity vs torch fp32": _parity(r), "guard": r.guard, memory: _memory(r),
            "notes": ", ".join(notes)}
        t.add_row(*(cells[c] for c in columns))
        prev = r
    return t


def _first_call(r: BenchRow) -> str:
    """The first timed call, with the runtime's export and compile seconds apart (cached: the export was reused)."""
    parts = [] if r.first_call_ms is None else [f"{r.first_call_ms:.0f} ms"]
    if r.backend != "torch":
        if r.export_s is not None:
            parts.append(f"export {r.export_s:.1f}s" + (" (cached)" if r.cache_hit else ""))
        if r.compile_s is not None:
            parts.append(f"compile {r.compile_s:.1f}s")
    return "\n".join(parts)


def _parity(r: BenchRow) -> str:
    if r.backend == "torch" and r.precision == "fp32":
        return "reference"
    text = "" if r.parity_max_abs is None else f"max|Δ| {r.parity_max_abs:.2g}"
    if r.parity_detections:
        text += ("\n" if text else "") + f"dets {r.parity_detections}"
    return text


def render_report(report: BenchReport, console: Any) -> None:
    """Print the table and the notes (how each number was measured) to a rich Console."""
    console.print(report_table(report))
    for note in report.notes:
        console.print(f"[dim]- {note}[/dim]")


def render_comparison(comp: Comparison, console: Any) -> None:
    from rich.table import Table

    t = Table(title=f"compare: {comp.stat} current / baseline (regression past +{comp.max_regression:.0%})",
              header_style="bold")
    for c in ("row", "baseline ms", "current ms", "ratio", "verdict"):
        t.add_column(c, justify="right" if c != "row" and c != "verdict" else "left")
    colours = {"regression": "red", "failed": "red", "faster": "green", "ok": "", "new": "dim", "missing": "dim"}
    for r in comp.rows:
        v = f"[{colours[r.verdict]}]{r.verdict}[/{colours[r.verdict]}]" if colours[r.verdict] else r.verdict
        t.add_row(r.label, _fmt(r.baseline_ms), _fmt(r.current_ms), _fmt(r.ratio, ".3f"), v)
    console.print(t)
    for change in comp.env_changes:
        console.print(f"[yellow]environment differs from the baseline: {change}[/yellow]")
    console.print(("[green]" if comp.passed else "[red]") + comp.summary())

