"""`zoo predict NAME IMAGE...`: run a model on images; tables, drawn images, or JSON."""

from __future__ import annotations

import sys
from pathlib import Path

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
def predict_cmd(name: str, inputs: tuple[str, ...], out_dir: Path | None, as_json: bool, conf: float | None,
                resize: str | None, size: int | None, topk: int, weights: Path | None, random_init: bool,
                batch_size: int, device: str) -> None:
    """Predict on image files or folders of images."""
    import zoo
    from zoo.images import expand_inputs, load_image

    paths = expand_inputs(list(inputs))
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
    if as_json:
        emit_json({"model": model.spec.name, "weights": model.weights_source,
                   "results": [r.to_json() for r in results], "errors": errors})
    else:
        if random_init:
            console(stderr=True).print("[yellow]random weights: these predictions are noise[/yellow]")
        for r in results:
            cols, rows = r.rows()
            table(r.source, cols, rows)
    if errors:
        sys.exit(2)
