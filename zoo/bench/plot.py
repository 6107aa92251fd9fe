"""`--plot FILE.png`: p50 latency and throughput against batch size, one line per model and row kind."""

from __future__ import annotations

from pathlib import Path

from zoo.bench.report import FORWARD, BenchReport


def check_plot_path(path: str | Path) -> None:
    """A --plot file whose extension matplotlib cannot write is refused before the run, not after it."""
    from matplotlib.backend_bases import FigureCanvasBase

    from zoo.errors import InputError

    suffix = Path(path).suffix.lower().lstrip(".")
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        raise InputError(f"--plot {path}: cannot draw a .{suffix} file (use one of "
                         f"{', '.join('.' + f for f in sorted(formats))})")


def plot_report(report: BenchReport, path: str | Path) -> Path:
    """Draw the report's ok rows (matplotlib, Agg backend: no display needed) and save to `path`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[int, float, float]]] = {}
    for r in report.rows:
        if not r.ok or r.p50_ms is None or r.throughput is None:
            continue
        label = f"{r.model} ({'forward' if r.kind == FORWARD else 'end-to-end'})"
        series.setdefault(label, []).append((r.batch_size, r.p50_ms, r.throughput))
    fig, (ax_lat, ax_thr) = plt.subplots(1, 2, figsize=(12, 4.8))
    for label, pts in sorted(series.items()):
        pts.sort()
        bs = [p[0] for p in pts]
        style = "-o" if "(forward)" in label else "--s"
        ax_lat.plot(bs, [p[1] for p in pts], style, label=label)
        ax_thr.plot(bs, [p[2] for p in pts], style, label=label)
    sizes = sorted({r.batch_size for r in report.rows})
    for ax, ylabel in ((ax_lat, "p50 latency (ms)"), (ax_thr, "throughput (images/s)")):
        ax.set_xlabel("batch size")
        ax.set_ylabel(ylabel)
        if len(sizes) > 1:
            ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.grid(True, alpha=0.3)
    if series:
        ax_thr.legend(fontsize="small")
    env = report.env
    fig.suptitle(f"zoo bench: {env.device_name or env.device} ({env.device}), {env.precision}, "
                 f"{env.threads} threads, torch {env.torch}", fontsize="medium")
    fig.tight_layout()
    out = Path(path)
    from zoo.fsutil import atomic_path

    with atomic_path(out) as tmp:  # the temp file keeps the extension: matplotlib's format
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return out
