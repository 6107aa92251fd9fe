"""`zoo generate NAME`: images from a generator, written as a PNG grid with the inputs that regenerate it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from zoo.errors import InputError

DEFAULT_N = 8  # images in a grid when --n is not given


@click.command("generate")
@click.argument("name")
@click.option("--n", "n", type=int, default=None, help="how many images (default 8; a walk has --interpolate STEPS)")
@click.option("--seed", type=int, default=0, show_default=True, help="latents (and random classes) come from this seed")
@click.option("--class", "classes", multiple=True,
              help="class label or id (class-conditional models); repeat for one per image, or two with --interpolate")
@click.option("--truncation", type=float, default=None, help="in (0, 1]: latents from a normal truncated to [-2, 2], scaled")
@click.option("--interpolate", "steps", type=int, default=None,
              help="walk STEPS frames from the seed's first latent to its second (slerp; classes: lerp)")
@click.option("--inputs", "inputs_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="regenerate from a JSON file written by an earlier zoo generate")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("generated"),
              show_default=True, help="folder for the grid, its inputs JSON (and the strip and GIF of a walk)")
@click.option("--json", "as_json", is_flag=True, help="print the inputs and the files written as one JSON document")
@click.option("--weights", type=click.Path(path_type=Path), help="a local weights file instead of the cache")
@click.option("--random-init", is_flag=True, help="random weights (smoke tests only: images are noise)")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N")
def generate_cmd(name: str, n: int | None, seed: int, classes: tuple[str, ...], truncation: float | None, steps: int | None,
                 inputs_file: Path | None, out_dir: Path, as_json: bool, weights: Path | None, random_init: bool,
                 device: str) -> None:
    """Generate images (a grid PNG and the JSON inputs that regenerate it, side by side)."""
    import json

    import zoo
    from zoo.cli.output import emit_json
    from zoo.tasks.generation import (
        GenerationRequest,
        check_truncation,
        interpolation_request,
        write_generation,
    )

    if n is not None and steps is not None:
        raise InputError("--n and --interpolate do not go together: a walk has --interpolate STEPS images")
    n = DEFAULT_N if n is None else n
    if n < 1:
        raise InputError(f"--n must be at least 1, got {n}")
    check_truncation(truncation)
    if steps is not None and steps < 2:
        raise InputError(f"--interpolate needs at least 2 steps, got {steps}")
    spec = zoo.get_spec(name)
    if classes:  # names checked before the model loads: a typo costs nothing and writes nothing
        _check_classes(spec, classes)
    saved = None
    if inputs_file is not None:
        try:
            saved = json.loads(inputs_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"--inputs {inputs_file}: not a JSON file written by zoo generate ({e})") from None
    model = zoo.load(name, pretrained=not random_init, weights=weights, device=device)
    if getattr(model, "inputs", "images") != "latents":
        raise InputError(f"{name} translates images; use 'zoo predict {name} IMAGE... --out DIR'")
    cls = list(classes) if classes else None
    if saved is not None:
        request = GenerationRequest.from_json(saved)
        stem = f"{model.spec.name}-{inputs_file.stem if inputs_file else 'inputs'}-again"
    elif steps is not None:
        request = interpolation_request(model, steps, seed=seed, classes=cls, truncation=truncation)
        stem = f"{model.spec.name}-seed{seed}-walk{steps}"
    else:
        request = GenerationRequest(n=n, seed=seed, classes=cls, truncation=truncation)
        stem = f"{model.spec.name}-seed{seed}-n{n}"
    result = model.predict(request)
    paths = write_generation(result, out_dir, stem, interpolation=steps is not None and saved is None)
    if as_json:
        emit_json({"model": model.spec.name, "weights": model.weights_source, "files": [str(p) for p in paths],
                   "result": result.to_json()})
        return
    for p in paths:
        click.echo(f"wrote {p}", err=True)
    if random_init or model.weights_source == "random init":
        click.echo("random weights: these images are noise", err=True)


def _check_classes(spec: Any, classes: tuple[str, ...]) -> None:
    from zoo.categories import categories
    from zoo.tasks.generation import resolve_class

    if not spec.categories:
        raise InputError(f"{spec.name} is unconditional: it takes no --class")
    labels = categories(spec.categories)
    for c in classes:
        resolve_class(c, labels, len(labels))
