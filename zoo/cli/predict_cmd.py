"""`zoo predict NAME IMAGE...`: run a model on images; tables, drawn images, or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from zoo.cli.output import console, emit_json, table
from zoo.errors import InputError


@click.command("predict")
@click.argument("name")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="write drawn results here")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
@click.option("--conf", type=float, default=None, help="score threshold for detections (default: the model's)")
@click.option("--resize", type=click.Choice(["letterbox", "stretch", "resize-crop", "none"]), default=None,
              help="how images become the network input (default: the model's)")
@click.option("--size", type=int, default=None, help="square network input size, e.g. 320/416/608 for YOLO")
@click.option("--topk", type=int, default=5, show_default=True, help="classes per image for classifiers")
@click.option("--weights", type=click.Path(path_type=Path), help="a local weights file instead of the cache")
@click.option("--random-init", is_flag=True, help="run with random weights (smoke tests only: predictions are noise)")
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--every", type=int, default=1, show_default=True, help="videos: run on every N-th frame")
def predict_cmd(name: str, inputs: tuple[str, ...], out_dir: Path | None, as_json: bool, conf: float | None,
                resize: str | None, size: int | None, topk: int, weights: Path | None, random_init: bool,
                batch_size: int, device: str, every: int) -> None:
    """Predict on image files, folders of images, or video files (one result per frame)."""
    import zoo
    from zoo.images import expand_inputs, is_video, load_image

    videos = [Path(i) for i in inputs if is_video(i) and Path(i).is_file()]
    paths = expand_inputs([i for i in inputs if Path(i) not in videos])
    model = zoo.load(name, pretrained=not random_init, weights=weights, device=device)
    opts = {"topk": topk, "resize": resize, "size": size}
    if conf is not None:
        opts["conf"] = conf
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
    for video in videos:
        frames.extend(_predict_video(model, video, opts, batch_size, out_dir, every, as_json))
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
