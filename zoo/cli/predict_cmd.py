"""`zoo predict NAME IMAGE...`: run a model on images; tables, drawn images, or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from zoo.cli.output import console, emit_json, table
from zoo.errors import InputError


def task_options(tasks: list[Any]) -> list[click.Option]:
    """One click option per predict option of the registered tasks (each listed once, default: unset)."""
    from zoo.tasks.catalog import OPTION_TYPES

    seen: dict[str, list[str]] = {}
    first: dict[str, Any] = {}
    for t in tasks:
        for o in t.options:
            seen.setdefault(o.name, []).append(t.name)
            first.setdefault(o.name, o)
    out = []
    for name, o in first.items():
        help_text = f"{o.help} ({', '.join(seen[name])})"
        if o.type == "bool":  # a switch: `--compare`, unset (None) when not given
            out.append(click.Option([o.flag, name], is_flag=True, default=None, help=help_text))
            continue
        kind: Any = click.Choice(list(o.choices)) if o.choices else OPTION_TYPES[o.type]
        out.append(click.Option([o.flag, name], type=kind, default=None, help=help_text))
    return out


def make_predict_cmd() -> click.Command:
    """`zoo predict`, with the predict options of every registered task (built-in and plugin tasks)."""
    from zoo.plugin_manager import default_registry

    cmd = click.Command("predict", callback=predict, help=predict.__doc__, params=[
        click.Argument(["name"]), click.Argument(["inputs"], nargs=-1, required=True),
        click.Option(["--out", "out_dir"], type=click.Path(file_okay=False, path_type=Path),
                     help="write drawn results here"),
        click.Option(["--json", "as_json"], is_flag=True, help="one JSON document on stdout"),
        click.Option(["--weights"], type=click.Path(path_type=Path), help="a local weights file instead of the cache"),
        click.Option(["--random-init"], is_flag=True, help="run with random weights (smoke tests only: noise)"),
        click.Option(["--batch-size"], type=int, default=8, show_default=True),
        click.Option(["--device"], default="cpu", show_default=True),
        click.Option(["--every"], type=int, default=1, show_default=True, help="videos: run on every N-th frame"),
        *task_options(default_registry().tasks())])
    return cmd


def checked_options(name: str, task: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The task options the user gave; one the model's task does not have is refused in one line."""
    opts = {k: v for k, v in given.items() if v is not None}
    foreign = [k for k in opts if task.option(k) is None]
    if foreign:
        flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
        own = ", ".join(o.flag for o in task.options) or "none"
        raise InputError(f"{flags}: not an option of {task.name} models ({name} takes: {own})")
    return opts


def predict(name: str, inputs: tuple[str, ...], out_dir: Path | None, as_json: bool, weights: Path | None,
            random_init: bool, batch_size: int, device: str, every: int, **given: Any) -> None:
    """Predict on image files, folders of images, or video files (one result per frame)."""
    import zoo
    from zoo.images import expand_inputs, is_video, load_image
    from zoo.plugin_manager import default_registry

    task = default_registry().task(zoo.get_spec(name).task)
    if task.inputs != "images":
        raise InputError(f"{name} is a {task.name} model: it takes {task.inputs}, not images "
                         "(see 'zoo --help' for its family's command)")
    videos = [Path(i) for i in inputs if is_video(i) and Path(i).is_file()]
    paths = expand_inputs([i for i in inputs if Path(i) not in videos])
    opts = checked_options(name, task, given)
    model = zoo.load(name, pretrained=not random_init, weights=weights, device=device)
    model.split_options(opts)  # a task option this model's stages do not take fails here, before any work
    results, errors = [], []
    good: list[Path] = []
    for p in paths:  # read every image first: a corrupt one is reported in one line and skipped
        try:
            load_image(p)
            good.append(p)
        except InputError as e:
            errors.append(str(e))
            click.echo(f"error: {e}", err=True)
    for i in range(0, len(good), max(1, batch_size)):
        chunk = [str(p) for p in good[i:i + batch_size]]
        results.extend(model.predict(chunk, **opts))
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for r in results:
            dst = out_dir / f"{Path(r.source).stem}.{model.spec.name}.jpg"
            r.draw(r.source).save(dst, quality=92)
            if not as_json:
                click.echo(f"wrote {dst}", err=True)
    frames = []
    for video in videos:  # like images: a video that cannot be read is one line, the other inputs still run
        try:
            frames.extend(_predict_video(model, video, opts, batch_size, out_dir, every, as_json))
        except InputError as e:
            errors.append(str(e))
            click.echo(f"error: {e}", err=True)
    if as_json:
        emit_json({"model": model.spec.name, "weights": model.weights_source,
                   "results": [r.to_json() for r in results + frames], "errors": errors})
    else:
        if random_init:
            console(stderr=True).print("[yellow]random weights: these predictions are noise[/yellow]")
        for r in results + (frames if len(frames) <= 20 else []):
            cols, rows = r.rows()
            if rows:
                table(r.source, cols, rows)
            else:
                click.echo(f"{r.source}: nothing above the score threshold")
    if errors:
        sys.exit(2)


def _predict_video(model: Any, path: Path, opts: dict[str, Any], batch_size: int, out_dir: Path | None, every: int,
                   quiet: bool) -> list[Any]:
    """Results for the frames of one video (source "<path>#frame=<i>"); with --out, an annotated video too."""
    import cv2
    import numpy as np

    from zoo.images import read_video

    fps, frames = read_video(path, every)
    dst = out_dir / f"{path.stem}.{model.spec.name}.mp4" if out_dir is not None else None
    writer = None
    results: list[Any] = []

    def run(batch: list[tuple[int, Any]]) -> None:
        nonlocal writer
        for (i, frame), r in zip(batch, model.predict([f for _, f in batch], **opts)):
            r.source = f"{path}#frame={i}"
            results.append(r)
            if dst is not None:
                if writer is None:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    h, w = frame.shape[:2]
                    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps / max(1, every), (w, h))
                writer.write(np.ascontiguousarray(np.asarray(r.draw(frame))[:, :, ::-1]))

    batch: list[tuple[int, Any]] = []
    try:
        for item in frames:
            batch.append(item)
            if len(batch) >= max(1, batch_size):
                run(batch)
                batch = []
        if batch:
            run(batch)
    finally:
        if writer is not None:
            writer.release()
    if not quiet:
        click.echo(f"{path}: {len(results)} frames" + (f", wrote {dst}" if dst is not None else ""), err=True)
    return results
