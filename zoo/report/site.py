"""Building the site: select the models, read the bench history, draw examples and charts, write the pages into
the guarded output folder. The CLI (zoo/cli/report_cmd.py) only parses arguments and prints the summary."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zoo.bench.report import FORWARD
from zoo.errors import InputError
from zoo.report import charts, html
from zoo.report.coverage import coverage_row
from zoo.report.examples import draw_examples
from zoo.report.history import History, Measurement, read_history
from zoo.report.machine import Machine, this_machine
from zoo.report.outdir import SiteFolder
from zoo.report.pareto import pareto_front
from zoo.report.pins import describe
from zoo.report.rows import ModelRow, model_rows

ASSETS = Path(__file__).with_name("assets")
WILDCARDS = "*?["


@dataclass
class SiteSummary:
    out: Path
    models: int
    pages: int
    images: int
    examples: list[str] = field(default_factory=list)  # models whose outputs were drawn
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def select_specs(registry: Any, names: Sequence[str], task: str | None, family: str | None) -> list[Any]:
    """NAMEs (fnmatch patterns allowed) and/or --task/--family; a name or pattern matching nothing is an error."""
    if not names:
        return [registry.get(n) for n in registry.list(None, None, task, family)]
    chosen: list[str] = []
    for name in names:
        if any(c in name for c in WILDCARDS):
            found = registry.list(name, None, task, family)
            if not found:
                raise InputError(f"no model matches '{name}'" + (f" with --task {task}" if task else "")
                                 + (f" with --family {family}" if family else ""))
        else:
            spec = registry.get(name.split(".")[0])  # unknown: UnknownModelError with did-you-mean (exit 2)
            found = [spec.name] if spec.name in registry.list(spec.name, None, task, family) else []
            if not found:
                raise InputError(f"{spec.name} is not a {task or family} model (it is {spec.task}, {spec.family})")
        chosen.extend(n for n in found if n not in chosen)
    return [registry.get(n) for n in chosen]


def build_site(out: Path, names: Sequence[str] = (), task: str | None = None, family: str | None = None,
               bench_files: Sequence[Path] = (), examples_dir: Path | None = None, history_dir: Path | None = None,
               draw: bool = True, log: Callable[[str], None] | None = None) -> SiteSummary:
    """Write the site for the selected models into `out` (see zoo.report's docstring for what it holds)."""
    from zoo.bench.history import history_dir as default_history
    from zoo.cache import cached_weights
    from zoo.plugin_manager import default_registry

    t0 = time.perf_counter()
    say = log or (lambda _m: None)
    registry = default_registry()
    specs = select_specs(registry, names, task, family)
    photos = _photos(examples_dir) if draw else []
    folder = SiteFolder(out)  # a foreign or unwritable folder fails here, before any work
    machine = this_machine()
    history = read_history(default_history() if history_dir is None else history_dir, list(bench_files),
                           machine.cpu_model, machine.cpu_count)
    latest = history.latest()

    def is_cached(spec: Any, w: Any) -> bool:
        return cached_weights(spec, w) is not None

    try:
        drawn, images = _write_site(folder, specs, history, latest, machine, photos, draw, is_cached, say)
    except BaseException:
        with contextlib.suppress(InputError):  # the first error is the one to report
            folder.keep()  # a stopped build (an error, Ctrl-C) leaves a folder the next build may write into
        raise
    folder.finish()
    return SiteSummary(out, len(specs), len(specs) + 3, images, drawn, list(history.warnings),
                       time.perf_counter() - t0)


def _write_site(folder: SiteFolder, specs: list[Any], history: History, latest: list[Measurement], machine: Machine,
                photos: list[Path], draw: bool, is_cached: Callable[[Any, Any], bool],
                say: Callable[[str], None]) -> tuple[list[str], int]:
    """Every file of the site; returns (the models whose outputs were drawn, how many images)."""
    rows = model_rows(specs, latest, is_cached)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    version = machine.versions.get("cvzoo", "")

    def write_page(rel: str, title: str, body: str) -> None:
        root = "../" * rel.count("/")
        folder.write(rel, html.page(title, body, root, date, machine.summary(), version))

    for asset in sorted(ASSETS.iterdir()):
        folder.write(f"assets/{asset.name}", asset.read_bytes())
    images = 0
    drawn: list[str] = []
    for spec, row in zip(specs, rows):
        mine = [m for m in latest if m.model == spec.name]
        pictures, note = [], "example drawing switched off (--no-examples)"
        if draw:
            ex = draw_examples(spec, photos, is_cached)
            if ex.pictures:
                drawn.append(spec.name)
                say(f"{spec.name}: drew {len(ex.pictures)} examples in {ex.seconds:.1f} s")
            note = ex.reason or f"drawn by {ex.weights} on this machine ({ex.seconds:.1f} s)"
            for p in ex.pictures:
                pictures.append((f"../{folder.write(f'img/{spec.name}/{p.stem}{p.suffix}', p.data)}", p.caption))
        plots = []
        for stem, caption, png in _model_plots(spec.name, mine):
            plots.append((f"../{folder.write(f'img/{spec.name}/{stem}.png', png)}", caption))
        images += len(pictures) + len(plots)
        pins = [describe(w, w is spec.default_weights()) for w in spec.weights]
        cached = [w.tag for w in spec.weights if is_cached(spec, w)]
        cells = coverage_row(spec.name, mine, _exported(spec.name))
        write_page(f"models/{spec.name}.html", spec.name,
                   html.model_body(spec, row, pins, cached, mine, pictures, note, plots, cells))
    sections, n_charts = _chart_sections(rows, latest, folder)
    write_page("index.html", "models", html.index_body(rows, len(history.runs), history.warnings))
    write_page("charts.html", "charts", html.charts_body(sections))
    write_page("history.html", "bench history", html.history_body(history.runs, history.warnings,
                                                                    {s.name for s in specs}))
    return drawn, images + n_charts


def _photos(examples_dir: Path | None) -> list[Path]:
    from zoo.report.examples import example_photos

    photos = example_photos(examples_dir)
    if examples_dir is not None and not photos:
        raise InputError(f"--examples {examples_dir}: no photos in it (.jpg, .jpeg, .png, .bmp, .webp)")
    return photos


def _exported(model: str) -> list[tuple[str, str]]:
    from zoo.runtimes.cache import export_entries

    return [(e.format, e.precision) for e in export_entries(model)]


def _model_plots(model: str, mine: list[Measurement]) -> list[tuple[str, str, bytes]]:
    """(file stem, caption, PNG): latency vs batch size per machine, speed-up by backend/precision."""
    out = []
    machines = sorted({m.machine for m in mine if m.ok})
    for i, machine in enumerate(machines):
        series: dict[str, list[tuple[int, float]]] = {}
        for m in mine:
            if m.ok and m.machine == machine:
                series.setdefault(f"{m.kind} {m.config()}", []).append((m.batch_size, m.p50_ms or 0.0))
        out.append((f"latency-vs-batch-{i}", f"p50 latency vs batch size on {machine}",
                    charts.latency_vs_batch(series, f"{model} on {machine}")))
        ups = speedups([m for m in mine if m.machine == machine])
        if ups:
            out.append((f"speedup-{i}", f"speed-up over torch fp32 on {machine} (forward, batch size 1)",
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
    others = sorted(((m.config(), base.p50_ms / m.p50_ms) for m in forward
                     if m is not base and m.input_size == base.input_size and m.p50_ms), key=lambda kv: -kv[1])
    return others


def _chart_sections(rows: list[ModelRow], latest: list[Measurement],
                    folder: SiteFolder) -> tuple[list[tuple[str, str, list[tuple[str, str]]]], int]:
    """Per task: accuracy vs latency charts (one per machine with data) and a note on what is missing."""
    from html import escape

    sections = []
    n = 0
    for task in sorted({r.task for r in rows}):
        of_task = [r for r in rows if r.task == task]
        with_metric = [r for r in of_task if r.metric is not None]
        figs = []
        notes = []
        machines = sorted({m.machine for m in latest if m.ok and m.model in {r.name for r in with_metric}})
        for machine in machines:
            best = _best_latency(latest, machine)
            measured = [r for r in with_metric if r.name in best]
            if not measured:
                continue
            # the metric most of the measured models publish (box AP and AP50 are not one axis)
            names = [r.metric.name for r in measured]  # type: ignore[union-attr]
            metric = max(dict.fromkeys(names), key=names.count)
            points = _points([r for r in measured if r.metric.name == metric], best)  # type: ignore[union-attr]
            href = folder.write(f"img/charts/{task}-{n}.png",
                                charts.accuracy_vs_latency(points, f"{task} on {machine}", metric))
            n += 1
            figs.append((href, f"{task}: {metric} (published) vs p50 latency on {machine}; Pareto front: "
                         + ", ".join(p.label for p in points if p.on_front)))
            left = sorted(r.name for r in measured if r.metric.name != metric)  # type: ignore[union-attr]
            if left:
                notes.append(f"On {machine}, left out (they publish another metric than {metric}): {', '.join(left)}.")
        if not with_metric:
            notes.append(f"No {task} model publishes an accuracy metric in the registry: no chart.")
        elif not figs:
            notes.append(f"None of the {len(with_metric)} {task} models with a published metric has bench rows "
                         f"yet: run 'zoo bench --task {task}' and rebuild.")
        note = "".join(f'<p class="why">{escape(t)}</p>' for t in notes)
        sections.append((task, note, figs))
    return sections, n


def _best_latency(latest: list[Measurement], machine: str) -> dict[str, float]:
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
