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

from zoo.errors import InputError
from zoo.report import html
from zoo.report.coverage import coverage_row
from zoo.report.examples import draw_examples
from zoo.report.figures import model_plots, task_charts
from zoo.report.history import History, Measurement, read_history
from zoo.report.machine import Machine, this_machine
from zoo.report.outdir import SiteFolder
from zoo.report.pins import describe
from zoo.report.rows import model_rows

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
        plots = [(f"../{folder.write(f'img/{spec.name}/{f.stem}.png', f.png)}", f.caption)
                 for f in model_plots(spec.name, mine)]
        images += len(pictures) + len(plots)
        pins = [describe(w, w is spec.default_weights()) for w in spec.weights]
        cached = [w.tag for w in spec.weights if is_cached(spec, w)]
        cells = coverage_row(spec.name, mine, _exported(spec.name))
        write_page(f"models/{spec.name}.html", spec.name,
                   html.model_body(spec, row, pins, cached, mine, pictures, note, plots, cells))
    sections = [(tc.task, tc.notes, [(folder.write(f"img/charts/{f.stem}.png", f.png), f.caption) for f in tc.figures])
                for tc in task_charts(rows, latest)]
    n_charts = sum(len(figs) for _, _, figs in sections)
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
