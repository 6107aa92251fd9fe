"""Which charts the pages get, from the bench rows: per model, latency vs batch size and the speed-up by
backend/precision (per machine); per task, accuracy vs latency with the Pareto front (per machine), with a
note for what could not be charted. Returns PNG bytes; the site writes them."""

from __future__ import annotations

from dataclasses import dataclass, field

from zoo.bench.report import FORWARD
from zoo.report import charts
from zoo.report.history import Measurement
from zoo.report.pareto import pareto_front
from zoo.report.rows import ModelRow


@dataclass(frozen=True)
class Figure:
    stem: str  # file name without .png, unique on its page
    caption: str
    png: bytes


@dataclass
class TaskCharts:
    task: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what is missing, and why


def model_plots(model: str, mine: list[Measurement]) -> list[Figure]:
    """Latency vs batch size for each machine with ok rows, and the speed-up chart where there is one."""
    out = []
    machines = sorted({m.machine for m in mine if m.ok})
    for i, machine in enumerate(machines):
        series: dict[str, list[tuple[int, float]]] = {}
        for m in mine:
            if m.ok and m.machine == machine:
                series.setdefault(f"{m.kind} {m.config()}", []).append((m.batch_size, m.p50_ms or 0.0))
        out.append(Figure(f"latency-vs-batch-{i}", f"p50 latency vs batch size on {machine}",
                          charts.latency_vs_batch(series, f"{model} on {machine}")))
        ups = speedups([m for m in mine if m.machine == machine])
        if ups:
            out.append(Figure(f"speedup-{i}", f"speed-up over torch fp32 on {machine} (forward, batch size 1)",
                              charts.speedups(ups, f"{model}: speed-up by backend / precision")))
    return out


def speedups(rows: list[Measurement], batch_size: int = 1) -> list[tuple[str, float]]:
    """Each configuration's torch-fp32 p50 / its p50 (forward rows of one machine at `batch_size`, same input);
    empty without a torch fp32 baseline or another configuration."""
    forward = [m for m in rows if m.ok and m.kind == FORWARD and m.batch_size == batch_size]
    base = next((m for m in forward if m.backend == "torch" and m.precision == "fp32" and not m.flags
                 and not m.variant), None)
    if base is None or not base.p50_ms:
        return []
    return sorted(((m.config(), base.p50_ms / m.p50_ms) for m in forward
                   if m is not base and m.input_size == base.input_size and m.p50_ms), key=lambda kv: -kv[1])


def task_charts(rows: list[ModelRow], latest: list[Measurement]) -> list[TaskCharts]:
    """Per task: an accuracy-vs-latency chart for each machine that measured models publishing a metric."""
    out = []
    for task in sorted({r.task for r in rows}):
        tc = TaskCharts(task)
        with_metric = [r for r in rows if r.task == task and r.metric is not None]
        machines = sorted({m.machine for m in latest if m.ok and m.model in {r.name for r in with_metric}})
        for machine in machines:
            best = best_latency(latest, machine)
            measured = [r for r in with_metric if r.name in best]
            if not measured:
                continue
            # the metric most of the measured models publish (box AP and AP50 are not one axis)
            names = [r.metric.name for r in measured]  # type: ignore[union-attr]
            metric = max(dict.fromkeys(names), key=names.count)
            points = _points([r for r in measured if r.metric.name == metric], best)  # type: ignore[union-attr]
            front = ", ".join(p.label for p in points if p.on_front)
            tc.figures.append(Figure(f"{task}-{len(tc.figures)}",
                                     f"{task}: {metric} (published) vs p50 latency on {machine}; Pareto front: {front}",
                                     charts.accuracy_vs_latency(points, f"{task} on {machine}", metric)))
            left = sorted(r.name for r in measured if r.metric.name != metric)  # type: ignore[union-attr]
            if left:
                tc.notes.append(f"On {machine}, left out (they publish another metric than {metric}): {', '.join(left)}.")
        if not with_metric:
            tc.notes.append(f"No {task} model publishes an accuracy metric in the registry: no chart.")
        elif not tc.figures:
            tc.notes.append(f"None of the {len(with_metric)} {task} models with a published metric has bench rows "
                            f"yet: run 'zoo bench --task {task}' and rebuild.")
        out.append(tc)
    return out


def best_latency(latest: list[Measurement], machine: str) -> dict[str, float]:
    """model -> its fastest ok forward p50 at batch size 1 on `machine`."""
    best: dict[str, float] = {}
    for m in latest:
        if m.machine == machine and m.ok and m.kind == FORWARD and m.batch_size == 1 and not m.variant:
            best[m.model] = min(best.get(m.model, float("inf")), m.p50_ms or float("inf"))
    return best


def _points(rows: list[ModelRow], best: dict[str, float]) -> list[charts.Point]:
    pairs = [(r.name, best[r.name], r.metric.value) for r in rows]  # type: ignore[union-attr]
    front = set(pareto_front([(lat, acc) for _, lat, acc in pairs]))
    return [charts.Point(name, lat, acc, i in front) for i, (name, lat, acc) in enumerate(pairs)]
