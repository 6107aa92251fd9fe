"""`zoo report`: the offline site of models, bench rows, charts and drawn examples (a thin layer over zoo.report)."""

from __future__ import annotations

from pathlib import Path

import click

from zoo.errors import InputError


@click.command("report")
@click.argument("names", nargs=-1)
@click.option("--task", help="only the models of this task")
@click.option("--family", help="only the models of this family (plugin)")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="folder for the site: new, empty, or one zoo report wrote before")
@click.option("--bench", "bench_files", multiple=True, type=click.Path(path_type=Path),
              help="another bench report (JSON, or zoo bench's CSV) to show besides those in ZOO_HOME/bench/ (repeatable: a GPU box's, a colleague's)")
@click.option("--examples", "examples_dir", type=click.Path(path_type=Path),
              help="folder of photos the models draw on [default: the zoo's sample photo]")
@click.option("--no-examples", is_flag=True, help="do not run the models (no drawn outputs)")
@click.option("--serve", is_flag=True, help="serve the site on 127.0.0.1 after building it (Ctrl-C stops)")
@click.option("--port", type=int, default=8000, show_default=True, help="--serve: the port (0: any free one)")
def report_cmd(names: tuple[str, ...], task: str | None, family: str | None, out: Path,
               bench_files: tuple[Path, ...], examples_dir: Path | None, no_examples: bool, serve: bool,
               port: int) -> None:
    """Write a static site (works offline) of NAMEs or every model: an index, a page per model, charts and
    the bench history; example outputs are drawn by each model whose weights are cached."""
    from zoo.report import build_site

    if examples_dir is not None and not examples_dir.is_dir():
        raise InputError(f"--examples {examples_dir}: not a folder")
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be in 0..65535, got {port}")
    summary = build_site(out, names, task, family, bench_files, examples_dir, draw=not no_examples,
                         log=lambda m: click.echo(m, err=True))
    for w in summary.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"wrote {summary.pages} pages and {summary.images} images for {summary.models} models to "
               f"{out} in {summary.seconds:.1f} s (examples drawn: {len(summary.examples)})", err=True)
    if serve:
        from zoo.report.serve import serve as serve_site

        try:
            serve_site(out, port, lambda url: click.echo(f"serving {out} at {url} (Ctrl-C stops)", err=True))
        except OSError as e:
            raise InputError(f"--port {port}: cannot serve there ({e.strerror or e})") from None
        click.echo("stopped", err=True)
