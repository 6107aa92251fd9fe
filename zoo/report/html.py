"""The site's pages: one page template (string.Template, templates/page.html) and the body of each page built
from escaped fragments. Every value from a spec or a bench file goes through html.escape."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from zoo.report.coverage import Cell
from zoo.report.history import BenchRun, Measurement
from zoo.report.pins import WeightsPin
from zoo.report.rows import ModelRow

TEMPLATES = Path(__file__).with_name("templates")
WEIGHTS_FILTER = (("", "all"), ("any", "has weights"), ("cached", "cached here"), ("download", "downloadable"),
                  ("import", "bring the file"), ("none", "none"))


@functools.cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def page(title: str, body: str, root: str, date: str, machine: str, version: str) -> str:
    """A whole page; `root` is the relative way back to the site's top ('' or '../')."""
    return _template("page.html").substitute(title=escape(title), body=body, root=root, date=escape(date),
                                             machine=escape(machine), version=escape(version))


def model_href(name: str, root: str = "") -> str:
    return f"{root}models/{escape(name, quote=True)}.html"


def _num(value: float | None, fmt: str | None = None) -> str:
    """Plain decimals (no 1.08e+03): three significant digits unless `fmt` says otherwise."""
    if value is None:
        return ""
    if fmt is not None:
        return fmt.format(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _count(n: float | None) -> str:
    """Parameters in millions, as model-zoo tables give them (timm, torchvision)."""
    return "" if n is None else f"{n / 1e6:.2f}M" if n < 1e7 else f"{n / 1e6:.1f}M"


def _bytes(n: int | None) -> str:
    return "" if n is None else f"{n / (1 << 20):.0f} MB"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], attrs: str = "") -> str:
    """Cells are HTML already (escape before)."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table{attrs}><thead><tr>{th}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _options(values: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<option value="{escape(v, quote=True)}">{escape(t)}</option>' for v, t in values)


# ------------------------------------------------------------------ index
def index_body(rows: Sequence[ModelRow], n_runs: int, warnings: Sequence[str]) -> str:
    tasks = sorted({r.task for r in rows})
    families = sorted({r.family for r in rows})
    filters = (
        '<div class="filters">'
        f'<label>task <select id="f-task"><option value="">all</option>{_options((t, t) for t in tasks)}</select></label>'
        f'<label>family <select id="f-family"><option value="">all</option>{_options((f, f) for f in families)}</select></label>'
        f'<label>weights <select id="f-weights">{_options(WEIGHTS_FILTER)}</select></label>'
        '<label>search <input id="f-text" type="search" placeholder="name, task, family…"></label>'
        '<span id="shown" class="muted"></span></div>')
    head = ('<thead><tr><th>model</th><th>family</th><th>task</th><th data-type="num">params</th>'
            '<th data-type="num">GMACs</th><th data-type="num">published metric</th><th>weights</th><th>pinned</th>'
            '<th data-type="num">best latency here (ms)</th><th>measured with</th></tr></thead>')
    lines = []
    for r in rows:
        metric = ""
        if r.metric is not None:
            metric = (f'<td class="num" data-sort="{r.metric.value}" title="{escape(r.metric.source, quote=True)}">'
                      f"{r.metric.value:g} <span class=muted>{escape(r.metric.name)}, {escape(r.metric.dataset)}</span></td>")
        else:
            metric = '<td class="num" data-sort=""></td>'
        best = r.best
        lines.append(
            f'<tr data-task="{escape(r.task, quote=True)}" data-family="{escape(r.family, quote=True)}" '
            f'data-weights="{r.weights}">'
            f'<td><a href="{model_href(r.name)}">{escape(r.name)}</a></td><td>{escape(r.family)}</td>'
            f"<td>{escape(r.task)}</td>"
            f'<td class="num" data-sort="{r.params or ""}">{_count(r.params)}</td>'
            f'<td class="num" data-sort="{r.gmacs or ""}">{_num(r.gmacs, "{:g}")}</td>{metric}'
            f'<td title="{escape(r.weights_hint, quote=True)}">{escape(r.weights_text)}</td><td>{escape(r.pinned)}</td>'
            f'<td class="num" data-sort="{best.p50_ms if best else ""}">{_num(best.p50_ms if best else None)}</td>'
            f"<td>{escape(best.config()) if best else '<span class=muted>not benchmarked here</span>'}</td></tr>")
    note = "" if n_runs else ('<p class="why">No bench reports found: run <code>zoo bench NAME</code> (kept in '
                              "ZOO_HOME/bench/) or give <code>--bench FILE</code> to fill the latency column.</p>")
    return (f"<h1>cvzoo models</h1>{_warnings(warnings)}{note}{filters}"
            f'<table id="models">{head}<tbody>\n' + "\n".join(lines) + "\n</tbody></table>"
            '<p class="muted">Latency: the fastest ok forward row at batch size 1 measured on this machine, '
            "any backend and precision (p50). Metrics are the published ones, with their source on hover.</p>")


def _warnings(warnings: Sequence[str]) -> str:
    if not warnings:
        return ""
    return '<div class="warn">' + "<br>".join(f"warning: {escape(w)}" for w in warnings) + "</div>"


# ------------------------------------------------------------------ model page
def model_body(spec: Any, row: ModelRow, pins: Sequence[WeightsPin], cached: Sequence[str],
               measurements: Sequence[Measurement], pictures: Sequence[tuple[str, str]], examples_note: str,
               plots: Sequence[tuple[str, str]], cells: Sequence[Cell]) -> str:
    """pictures and plots: (href, caption); examples_note: why there are no pictures (or who drew them)."""
    return "\n".join([
        f"<h1>{escape(spec.name)}</h1><p>{escape(spec.description)}</p>",
        '<p><a href="../index.html">all models</a> · <a href="../charts.html#task-'
        f'{escape(spec.task, quote=True)}">{escape(spec.task)} chart</a></p>',
        "<h2>Model card</h2>", _card(spec, pins, cached),
        "<h2>Example outputs</h2>", _examples(pictures, examples_note),
        "<h2>Latency</h2>", _latency(spec.name, measurements, plots),
        "<h2>Export coverage</h2>",
        _table([escape(c.format) for c in cells], [[escape(c.text) for c in cells]], ' class="coverage"'),
    ])


def _card(spec: Any, pins: Sequence[WeightsPin], cached: Sequence[str]) -> str:
    inp = spec.input
    paper = ""
    if spec.paper is not None:
        link = f' <a href="{escape(spec.paper.url, quote=True)}">{escape(spec.paper.url)}</a>' if spec.paper.url else ""
        paper = f"{escape(spec.paper.title)} ({spec.paper.year}){link}"
    norm = f"mean {inp.mean}, std {inp.std}" if inp.mean else f"scale {inp.scale:.6g}"
    metrics = "; ".join(f"{escape(ds)}: " + ", ".join(f"{escape(k)} {v:g}" for k, v in m.items())
                        for ds, m in spec.metrics.items())
    if spec.metrics_source:
        metrics += f" <span class=muted>(source: {escape(spec.metrics_source)})</span>"
    rows = [["family", escape(spec.family)], ["task", escape(spec.task)], ["paper", paper],
            ["license", escape(spec.license)],
            ["input", escape(f"{inp.size[0]}x{inp.size[1]} RGB, resize {inp.resize}, {norm}")],
            ["label set", escape(spec.categories or "")], ["params", _count(spec.num_params)],
            ["GMACs", _num(spec.gmacs, "{:g}")], ["published metrics", metrics], ["notes", escape(spec.notes)]]
    if not pins:
        rows.append(["weights", "none published: the model builds with random init (benchmarks, training)"])
    for p in pins:
        where = "<br>".join(escape(s) for s in p.sources) or "no download source: <code>zoo import</code> a file you have"
        state = "cached here" if p.tag in cached else "not cached here"
        desc = f"<br><span class=muted>{escape(p.description)}</span>" if p.description else ""
        rows.append([f"weights {escape(p.tag)}{' (default)' if p.default else ''}",
                     f"{where}<br>format {escape(p.format)}; {escape(p.pin)}; {state}{desc}"])
    return _table(["field", "value"], [r for r in rows if r[1]], ' class="card"')


def _examples(pictures: Sequence[tuple[str, str]], note: str) -> str:
    figs = "".join(f'<figure><img src="{escape(h, quote=True)}" alt="{escape(c, quote=True)}">'
                   f"<figcaption>{escape(c)}</figcaption></figure>" for h, c in pictures)
    if not pictures:
        return f'<p class="why">No picture: {escape(note)}</p>'
    return f'<p class="muted">{escape(note)}</p>{figs}'


LATENCY_HEAD = ["machine", "kind", "backend", "precision", "batch", "input", "p50 ms", "p90 ms", "images/s",
                "% of peak", "memory", "parity vs fp32", "weights", "status", "run"]


def _latency(name: str, measurements: Sequence[Measurement], plots: Sequence[tuple[str, str]]) -> str:
    if not measurements:
        return ('<p class="why">Not benchmarked: no bench report holds this model. Run '
                f"<code>zoo bench {escape(name)} --batch-size 1,8</code> and rebuild.</p>")
    ordered = sorted(measurements, key=lambda m: (not m.this_machine, m.machine, m.kind, m.backend, m.precision,
                                                  m.flags, m.variant, m.batch_size))
    rows = [[escape(m.machine) + (" <b>(here)</b>" if m.this_machine else ""), escape(m.kind), escape(m.backend),
             escape(m.precision + (f"+{m.flags}" if m.flags else "") + (f" [{m.variant}]" if m.variant else "")),
             str(m.batch_size), escape(m.input_size), _num(m.p50_ms), _num(m.p90_ms), _num(m.throughput),
             _num(m.pct_of_peak, "{:.1f}"), _bytes(m.memory), escape(m.parity), escape(m.weights),
             escape(m.status if m.ok else f"{m.status}: {m.error}"), escape(m.created[:10])] for m in ordered]
    figs = "".join(f'<figure><img src="{escape(h, quote=True)}" alt="{escape(c, quote=True)}">'
                   f"<figcaption>{escape(c)}</figcaption></figure>" for h, c in plots)
    return _table(LATENCY_HEAD, rows, ' class="latency"') + figs


# ------------------------------------------------------------------ charts page
def charts_body(sections: Sequence[tuple[str, Sequence[str], Sequence[tuple[str, str]]]]) -> str:
    """sections: (task, notes, [(href, caption)])."""
    out = ["<h1>Accuracy vs latency</h1>",
           '<p class="muted">Per task: each model\'s published metric against the fastest p50 latency at batch size '
           "1 measured for it (forward, any backend and precision), one chart per machine. Red: the Pareto front "
           "(no other model is both faster and more accurate).</p>"]
    for task, notes, figs in sections:
        out.append(f'<h2 id="task-{escape(task, quote=True)}">{escape(task)}</h2>'
                   + "".join(f'<p class="why">{escape(n)}</p>' for n in notes))
        out.extend(f'<figure><img src="{escape(h, quote=True)}" alt="{escape(c, quote=True)}">'
                   f"<figcaption>{escape(c)}</figcaption></figure>" for h, c in figs)
    return "\n".join(out)


# ------------------------------------------------------------------ history page
def history_body(runs: Sequence[BenchRun], warnings: Sequence[str], in_site: set[str]) -> str:
    """in_site: the models that have a page (the others are named, not linked)."""
    rows = [[escape(r.created), escape(r.path), escape(r.machine) + (" <b>(here)</b>" if r.this_machine else ""),
             escape(str(r.env.get("torch", ""))), str(r.rows),
             ", ".join(f'<a href="{model_href(m)}">{escape(m)}</a>' if m in in_site else escape(m) for m in r.models)]
            for r in runs]
    table = _table(["date", "file", "machine", "torch", "rows", "models"], rows) if runs else \
        '<p class="why">No bench reports: <code>zoo bench</code> keeps one per run in ZOO_HOME/bench/.</p>'
    return f"<h1>Bench history</h1>{_warnings(warnings)}{table}"
