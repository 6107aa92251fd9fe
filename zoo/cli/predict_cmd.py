"""`zoo predict NAME IMAGE...`: run a model on images; tables, drawn images, or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from zoo.cli.output import console, emit_json, table
from zoo.errors import InputError, at_least


def task_options(tasks: list[Any]) -> list[click.Option]:
    """One click option per predict option of the registered tasks (each listed once, default: unset)."""
    from zoo.taskspec import OPTION_TYPES

    seen: dict[str, list[str]] = {}
    first: dict[str, Any] = {}
    for t in tasks:
        if t.inputs != "images":  # predict refuses latent-input tasks: their options belong to zoo generate
            continue
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
        click.Option(["--force"], is_flag=True, help="overwrite drawn results already in --out (refused without)"),
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


def runtime_setup(backend: str, precision: str, threads: int | None, device: str,
                  calibration: Path | None = None) -> str:
    """Check --backend/--precision/--threads/--calibration before any work (before weights are resolved); set
    torch's threads; the device to load on (runtimes run on the CPU: 'auto' means cpu with one)."""
    from zoo.runtimes import check_backend, check_precision

    check_precision(check_backend(backend), precision)
    at_least("threads", threads)
    if calibration is not None:
        from zoo.runtimes.calibration import calibration_set

        calibration_set(calibration)  # a missing or empty folder: one line now, not after the model loaded
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


def output_paths(files: list[Any], out_dir: Path, model: str) -> dict[int, Path]:
    """id(input) -> where its drawn result goes (output_path), one distinct path per input file: 'x.gif' and
    'x.gif.png' would both draw to 'x.gif.<model>.png', so the second becomes 'x.gif-2.<model>.png'."""
    from zoo.images import distinct_rels, is_video

    rels = distinct_rels(files, lambda rel: output_path(out_dir, rel, model, video=is_video(rel)))
    return {id(f): output_path(out_dir, rel, model, video=is_video(rel)) for f, rel in zip(files, rels)}


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
            force: bool = False, optimize: bool = False, backend: str = "torch", precision: str = "fp32", threads: int | None = None,
            calibration: Path | None = None, **given: Any) -> None:
    """Predict on image files, folders of images, globs, http(s) URLs, '-' (stdin) or video files (one result
    per frame)."""
    import tempfile

    import zoo
    from zoo.images import collect_inputs
    from zoo.plugin_manager import default_registry

    at_least("batch_size", batch_size)
    at_least("every", every)
    device = runtime_setup(backend, precision, threads, device, calibration)
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
        outputs = output_paths(files, out_dir, zoo.get_spec(name).name) if out_dir is not None else {}
        if not force:
            from zoo.fsutil import refuse_existing

            refuse_existing(outputs.values())  # a file of an earlier run or the user's: said before any work
        if opts.get("compare"):  # every image is compared with the first one: one predict call, not one per batch
            batch_size = max(batch_size, len(files))
        model = zoo.load(name, pretrained=not random_init, weights=weights, device=device, backend=backend,
                         precision=precision, threads=threads, calibration=calibration)
        warn_guard(model)
        model.split_options(opts)  # a task option this model's stages do not take fails here, before any work
        if out_dir is not None:
            from zoo.fsutil import make_out_dir

            make_out_dir(out_dir, "--out")  # one level: a typo'd parent is refused, not created
        if optimize:
            from zoo.bench.optimize import optimize_model

            model = optimize_model(model, batch_size=batch_size, input_size=opts.get("size"),
                                   log=lambda m: click.echo(f"optimize: {m}", err=True))
            click.echo(model.optimize_result.summary(), err=True)
        _run(model, files, opts, outputs, as_json, random_init, batch_size, every)


def _run(model: Any, files: list[Any], opts: dict[str, Any], outputs: dict[int, Path], as_json: bool,
         random_init: bool, batch_size: int, every: int) -> None:
    """Drive the library's predict loop (zoo.data.predict) and show its results: tables or JSON, drawn images and
    annotated videos under --out, one line per unreadable input (exit 2 after the others ran)."""
    from zoo.data.predict import predict_files
    from zoo.fsutil import atomic_path

    results, errors, written = [], [], {}  # written: id(result) -> its drawn file
    videos: dict[str, _VideoOut] = {}
    done = False
    try:
        for p in predict_files(model, files, batch_size, every, opts):
            if p.error is not None:
                errors.append(p.error)
                click.echo(f"error: {p.error}", err=True)
            elif p.frame is None and getattr(p.result, "error", None):  # no face to compare: said, the others go on
                errors.append(f"{p.input.source}: {p.result.error}")
                click.echo(f"error: {errors[-1]}", err=True)
            elif p.frame is None:
                results.append(p.result)
                dst = outputs.get(id(p.input))
                if dst is not None:
                    image = p.result.draw(str(p.input.path))
                    with atomic_path(dst) as tmp:
                        image.save(tmp, **({"quality": 92} if dst.suffix.lower() in (".jpg", ".jpeg") else {}))
                    written[id(p.result)] = dst
                    if not as_json:
                        click.echo(f"wrote {dst}" + _renamed(p.input, dst, model.spec.name), err=True)
            else:
                out = videos.get(p.input.source)
                if out is None:
                    out = videos[p.input.source] = _VideoOut(outputs.get(id(p.input)))
                out.add(p, every)
                if out.dst is not None:
                    written[id(p.result)] = out.dst
        done = True
    finally:
        for out in videos.values():
            out.close(keep=done)
    if not as_json:
        for source, out in videos.items():
            click.echo(f"{source}: {len(out.results)} frames" + (f", wrote {out.dst}" if out.dst is not None else ""),
                       err=True)
    frames = [r for out in videos.values() for r in out.results]
    if as_json:
        emit_json({"model": model.spec.name, "weights": model.weights_source, "errors": errors,
                   "results": [{**r.to_json(), **({"output": str(written[id(r)])} if id(r) in written else {})}
                               for r in results + frames]})
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


def _renamed(source: Any, dst: Path, model: str) -> str:
    """' (for SOURCE: NAME is another input's)' when an earlier input of the run took the name of `dst`."""
    from zoo.images import is_video

    plain = output_path(Path(), source.rel, model, video=is_video(source.rel)).name
    return "" if plain == dst.name else f" (for {source.source}: {plain} is another input's)"


class _VideoOut:
    """One video's frame results, and with --out its annotated copy (zoo.images.VideoOut: written as the frames
    come, in place when every frame is in)."""

    def __init__(self, dst: Path | None):
        self.dst, self.video, self.results = dst, None, []

    def add(self, p: Any, every: int) -> None:
        from zoo.images import VideoOut

        self.results.append(p.result)
        if self.dst is None:
            return
        frame = p.image.permute(1, 2, 0).cpu().numpy() if hasattr(p.image, "permute") else p.image
        if self.video is None:
            self.video = VideoOut(self.dst, p.fps / every)
        self.video.write(p.result.draw(frame))

    def close(self, keep: bool) -> None:
        if self.video is not None:
            self.video.close(keep)
