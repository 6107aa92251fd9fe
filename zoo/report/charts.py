"""The site's charts as PNG bytes (matplotlib, Agg: no display): accuracy vs latency with the Pareto front,
latency vs batch size, and speed-up by backend/precision."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DPI = 100  # 6.4 x 4 in -> 640 x 400 px: sharp enough on a page, a few tens of KB each


@dataclass(frozen=True)
class Point:
    label: str
    latency_ms: float
    accuracy: float
    on_front: bool


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    _pyplot().close(fig)
    return buf.getvalue()


def accuracy_vs_latency(points: Sequence[Point], title: str, metric: str) -> bytes:
    """Every model a dot; the front joined by a line and its models named."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.scatter([p.latency_ms for p in points], [p.accuracy for p in points], c="#888", s=22, label="models")
    front = sorted((p for p in points if p.on_front), key=lambda p: p.latency_ms)
    ax.plot([p.latency_ms for p in front], [p.accuracy for p in front], "-o", color="#d62728", ms=6,
            label="Pareto front")
    for p in points:
        ax.annotate(p.label, (p.latency_ms, p.accuracy), textcoords="offset points", xytext=(4, 4), fontsize=7,
                    color="#d62728" if p.on_front else "#555")
    if max(p.latency_ms for p in points) > 10 * min(p.latency_ms for p in points):
        ax.set_xscale("log")
    ax.set_xlabel("p50 latency, batch 1 (ms; the fastest configuration measured)")
    ax.set_ylabel(f"{metric} (published)")
    ax.set_title(title, fontsize="medium")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return _png(fig)


def latency_vs_batch(series: dict[str, list[tuple[int, float]]], title: str) -> bytes:
    """p50 latency against batch size, one line per configuration."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    sizes = sorted({bs for pts in series.values() for bs, _ in pts})
    for label, pts in sorted(series.items()):
        pts = sorted(pts)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", label=label)
    if len(sizes) > 1:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("batch size")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title(title, fontsize="medium")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return _png(fig)


def speedups(items: Sequence[tuple[str, float]], title: str) -> bytes:
    """Horizontal bars: each configuration's speed-up over torch fp32 (1.0 marked)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.35 * len(items)))
    labels = [k for k, _ in items]
    values = [v for _, v in items]
    ax.barh(range(len(items)), values, color=["#2ca02c" if v >= 1 else "#d62728" for v in values])
    ax.set_yticks(range(len(items)), labels, fontsize=8)
    ax.axvline(1.0, color="#333", lw=1)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}x", va="center", fontsize=8)
    ax.set_xlabel("speed-up over torch fp32 (p50, same machine, batch size and kind)")
    ax.set_title(title, fontsize="medium")
    ax.invert_yaxis()
    return _png(fig)
