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
                     help="write drawn results here (sub-folders and extensions of the inputs kept)"),
        click.Option(["--json", "as_json"], is_flag=True, help="one JSON document on stdout"),
        click.Option(["--weights"], type=click.Path(path_type=Path), help="a local weights file instead of the cache"),
        click.Option(["--random-init"], is_flag=True, help="run with random weights (smoke tests only: noise)"),
        click.Option(["--batch-size"], type=int, default=8, show_default=True),
        click.Option(["--device"], default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N"),
        click.Option(["--every"], type=int, default=1, show_default=True, help="videos: run on every N-th frame"),
        click.Option(["--recursive", "-r"], is_flag=True, help="folders: take the images of their sub-folders too"),
        click.Option(["--optimize"], is_flag=True, help="run the fastest configuration whose output matches fp32 "
                     "eager at --batch-size on this device (cached in ZOO_HOME; searched once when not)"),
        *runtime_options(),
        *task_options(default_registry().tasks())])
    return cmd


def runtime_options() -> list[click.Option]:
    """--backend / --precision / --threads, shared by predict and eval."""
    return [
        click.Option(["--backend"], default="torch", show_default=True,
                     help="run the network on torch, onnxruntime, openvino, torchscript or pt2 (exported once, cached)"),
        click.Option(["--precision"], default="fp32", show_default=True,
                     help="fp32, fp16, bf16 or int8 (onnxruntime, openvino: quantised; what the backend runs)"),
        click.Option(["--calibration"], type=click.Path(path_type=Path), default=None,
                     help="--precision int8: a folder of photos to calibrate on [default: the bundled photos]"),
        click.Option(["--threads"], type=int, default=None, help="CPU threads of the network [default: torch's]"),
    ]


def runtime_setup(backend: str, precision: str, threads: int | None, device: str) -> str:
    """Check --backend/--precision/--threads before any work; set torch's threads; the device to load on
    (runtimes run on the CPU: 'auto' means cpu with one)."""
    from zoo.runtimes import check_backend, check_precision

    check_precision(check_backend(backend), precision)
    at_least("--threads", threads)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return "cpu" if backend != "torch" and device == "auto" else device


def warn_guard(model: Any) -> None:
    """A reduced precision whose accuracy guard saw changed answers says so on stderr, once, before any result."""
    guard = (getattr(model, "backend_info", None) or {}).get("guard") or {}
    if guard and not guard.get("same", True):
        click.echo(f"warning: {model.backend_info['backend']} {guard['precision']} changes answers on the calibration "
                   f"photos: {guard['summary']}", err=True)


def checked_options(name: str, task: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The task options the user gave; one the model's task does not have, or a value out of its range, is
    refused in one line."""
    opts = {k: v for k, v in given.items() if v is not None}
    foreign = [k for k in opts if task.option(k) is None]
    if foreign:
        flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
        own = ", ".join(o.flag for o in task.options) or "none"
        raise InputError(f"{flags}: not an option of {task.name} models ({name} takes: {own})")
    task.check_options(opts, cli=True)
    return opts


def at_least(flag: str, value: int | None, low: int = 1) -> None:
    """Counts (batch sizes, strides, limits) below `low` are refused instead of silently meaning something else."""
    if value is not None and value < low:
        raise InputError(f"{flag} must be at least {low}, got {value}")


def output_path(out_dir: Path, rel: Path, model: str, video: bool = False) -> Path:
    """Where the drawn result of input `rel` goes: its sub-folder kept, '.<model>' before its extension (formats
    Pillow cannot write in colour become '<name>.<ext>.<model>.png')."""
    if video:
        return out_dir / rel.parent / f"{rel.stem}.{model}.mp4"
    if rel.suffix.lower() in WRITABLE_SUFFIXES:
        return out_dir / rel.parent / f"{rel.stem}.{model}{rel.suffix}"
    return out_dir / rel.parent / f"{rel.name}.{model}.png"


WRITABLE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def predict(name: str, inputs: tuple[str, ...], out_dir: Path | None, as_json: bool, weights: Path | None,
            random_init: bool, batch_size: int, device: str, every: int, recursive: bool = False,
            optimize: bool = False, backend: str = "torch", precision: str = "fp32", threads: int | None = None,
            calibration: Path | None = None, **given: Any) -> None:
    """Predict on image files, folders of images, globs, http(s) URLs, '-' (stdin) or video files (one result
    per frame)."""
    import tempfile

    import zoo
    from zoo.images import collect_inputs, is_video
    from zoo.plugin_manager import default_registry

    at_least("--batch-size", batch_size)
    at_least("--every", every)
    device = runtime_setup(backend, precision, threads, device)
    task = default_registry().task(zoo.get_spec(name).task)
    if task.inputs != "images":
        raise InputError(f"{name} is a {task.name} model: it takes {task.inputs}, not images "
                         "(see 'zoo --help' for its family's command)")
    opts = checked_options(name, task, given)
    if weights is not None and random_init:
        raise InputError("--weights FILE and --random-init contradict each other: give one")
    if optimize and (backend != "torch" or precision != "fp32"):
        raise InputError("--optimize picks the backend and precision itself: give --optimize or "
                         "--backend/--precision, not both")
    with tempfile.TemporaryDirectory(prefix="zoo-predict-") as tmp:
        files = collect_inputs(list(inputs), recursive, Path(tmp))
        model = zoo.load(name, pretrained=not random_init, weights=weights, device=device, backend=backend,
                         precision=precision, threads=threads, calibration=calibration)
        warn_guard(model)
        model.split_options(opts)  # a task option this model's stages do not take fails here, before any work
        if optimize:
            from zoo.bench.optimize import optimize_model

            model = optimize_model(model, batch_size=batch_size, input_size=opts.get("size"),
                                   log=lambda m: click.echo(f"optimize: {m}", err=True))
            click.echo(model.optimize_result.summary(), err=True)
        _run(model, files, opts, out_dir, as_json, random_init, batch_size, every, is_video)


def _run(model: Any, files: list[Any], opts: dict[str, Any], out_dir: Path | None, as_json: bool,
         random_init: bool, batch_size: int, every: int, is_video: Any) -> None:
    from zoo.data.loader import image_batches, takes_device_images

    videos = [f for f in files if is_video(f.path) and f.path.is_file()]
    results, errors = [], []
    images = [f for f in files if f not in videos]
    # DataLoader workers decode the next batch while the model runs this one (zoo.data.loader); a corrupt
    # file is reported in one line and skipped
    for batch in image_batches([f.path for f in images], batch_size, model.device,
                               decode=takes_device_images(model)):
        for item in batch:
            if item.error is not None:
                f = images[item.index]
                msg = item.error.replace(str(f.path), f.source, 1)
                errors.append(msg)
                click.echo(f"error: {msg}", err=True)
        chunk = [(images[item.index], item.image) for item in batch if item.image is not None]
        if chunk:
            for (f, _), r in zip(chunk, model.predict([im for _, im in chunk], **opts)):
                results.append((f, r))
    if out_dir is not None:
        for f, r in results:
            dst = output_path(out_dir, f.rel, model.spec.name)
            dst.parent.mkdir(parents=True, exist_ok=True)
            image = r.draw(str(f.path))
            image.save(dst, **({"quality": 92} if dst.suffix.lower() in (".jpg", ".jpeg") else {}))
            if not as_json:
                click.echo(f"wrote {dst}", err=True)
    for f, r in results:
        r.source = f.source
    frames = []
    for video in videos:  # like images: a video that cannot be read is one line, the other inputs still run
        dst = output_path(out_dir, video.rel, model.spec.name, video=True) if out_dir is not None else None
        try:
            frames.extend(_predict_video(model, video.path, opts, batch_size, dst, every, as_json, video.source))
        except InputError as e:
            errors.append(str(e))
            click.echo(f"error: {e}", err=True)
    shown = [r for _, r in results]
    if as_json:
        emit_json({"model": model.spec.name, "weights": model.weights_source,
                   "results": [r.to_json() for r in shown + frames], "errors": errors})
    else:
        if random_init:
            console(stderr=True).print("[yellow]random weights: these predictions are noise[/yellow]")
        for r in shown + (frames if len(frames) <= 20 else []):
            cols, rows = r.rows()
            if rows:
                table(r.source, cols, rows)
            else:
                click.echo(f"{r.source}: nothing above the score threshold")
    if errors:
        sys.exit(2)


def _predict_video(model: Any, path: Path, opts: dict[str, Any], batch_size: int, dst: Path | None, every: int,
                   quiet: bool, source: str | None = None) -> list[Any]:
    """Results for the frames of one video (source "<path>#frame=<i>"); with --out, an annotated video too."""
    import cv2
    import numpy as np

    from zoo.data.loader import takes_device_images, video_batches

    fps, batches = video_batches(path, batch_size, model.device, every)  # a worker reads the next frames
    as_arrays = not takes_device_images(model)  # families with their own preprocess get HxWx3 arrays, as before
    source = source or str(path)
    writer = None
    results: list[Any] = []

    try:
        for batch in batches:
            frames = [np.ascontiguousarray(item.image.permute(1, 2, 0).cpu().numpy()) if as_arrays else item.image
                      for item in batch]
            for item, r in zip(batch, model.predict(frames, **opts)):
                r.source = f"{source}#frame={item.index}"
                results.append(r)
                if dst is not None:
                    frame = item.image.permute(1, 2, 0).cpu().numpy()
                    if writer is None:
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        h, w = frame.shape[:2]
                        writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps / every, (w, h))
                    writer.write(np.ascontiguousarray(np.asarray(r.draw(frame))[:, :, ::-1]))
    finally:
        if writer is not None:
            writer.release()
    if not quiet:
        click.echo(f"{source}: {len(results)} frames" + (f", wrote {dst}" if dst is not None else ""), err=True)
    return results
