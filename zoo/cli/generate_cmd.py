"""`zoo generate NAME`: images from a generator, written as a PNG grid with the inputs that regenerate it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from zoo.errors import InputError

DEFAULT_N = 8  # images in a grid when --n is not given
GRID_MAX = 64  # images per grid (8x8); more images: several grids, each with its own inputs JSON
WALK_MAX = 256  # frames of an --interpolate walk: one strip, one GIF, all in memory


@click.command("generate")
@click.argument("name")
@click.option("--n", "n", type=int, default=None,
              help=f"how many images (default {DEFAULT_N}; more than {GRID_MAX}: one grid per {GRID_MAX}; "
                   "a walk has --interpolate STEPS)")
@click.option("--seed", type=int, default=None, help="latents (and random classes) come from this seed [default: 0]")
@click.option("--class", "classes", multiple=True,
              help="class label or id (class-conditional models); repeat for one per image, or two with --interpolate")
@click.option("--truncation", type=float, default=None, help="in (0, 1]: latents from a normal truncated to [-2, 2], scaled")
@click.option("--interpolate", "steps", type=int, default=None,
              help="walk STEPS frames from the seed's first latent to its second (slerp; classes: lerp)")
@click.option("--inputs", "inputs_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="regenerate from a JSON file written by an earlier zoo generate (of the same model)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("generated"),
              show_default=True, help="folder for the grid, its inputs JSON (and the strip and GIF of a walk)")
@click.option("--force", is_flag=True, help="overwrite files of the same names already in --out (refused without)")
@click.option("--json", "as_json", is_flag=True, help="print the inputs and the files written as one JSON document")
@click.option("--weights", type=click.Path(path_type=Path), help="a local weights file instead of the cache")
@click.option("--random-init", is_flag=True, help="random weights (smoke tests only: images are noise)")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N")
def generate_cmd(name: str, n: int | None, seed: int | None, classes: tuple[str, ...], truncation: float | None, steps: int | None,
                 inputs_file: Path | None, out_dir: Path, force: bool, as_json: bool, weights: Path | None, random_init: bool,
                 device: str) -> None:
    """Generate images (a grid PNG and the JSON inputs that regenerate it, side by side)."""
    import zoo
    from zoo.cli.output import emit_json
    from zoo.tasks.generation import (
        GenerationRequest,
        check_truncation,
        generation_paths,
        interpolation_request,
        write_generation,
    )

    if n is not None and steps is not None:
        raise InputError("--n and --interpolate do not go together: a walk has --interpolate STEPS images")
    if inputs_file is not None:
        given = [flag for flag, value in (("--n", n), ("--seed", seed), ("--class", classes or None),
                                          ("--truncation", truncation), ("--interpolate", steps)) if value is not None]
        if given:
            raise InputError(f"--inputs regenerates the saved images exactly: drop {', '.join(given)}")
    n = DEFAULT_N if n is None else n
    seed = 0 if seed is None else seed
    if n < 1:
        raise InputError(f"--n must be at least 1, got {n}")
    check_truncation(truncation)
    if steps is not None and not 2 <= steps <= WALK_MAX:
        raise InputError(f"--interpolate needs at least 2 steps and at most {WALK_MAX} (one strip, one GIF), "
                         f"got {steps}")
    spec = zoo.get_spec(name)
    if classes:  # names checked before the model loads: a typo costs nothing and writes nothing
        _check_classes(spec, classes)
    saved = _saved_request(_read_inputs(inputs_file, spec.name), inputs_file) if inputs_file is not None else None
    if saved is not None:
        stem = f"{spec.name}-{_replay_base(inputs_file.stem, spec.name)}-again"
    elif steps is not None:
        stem = f"{spec.name}-seed{seed}-walk{steps}"
    else:
        stem = f"{spec.name}-seed{seed}-n{n}"
    total = 1 if steps is not None else saved.n if saved is not None else n  # grids: one a walk, else GRID_MAX each
    walk = steps is not None and saved is None
    stems = [stem] if total <= GRID_MAX else [f"{stem}-{i + 1:04d}" for i in range(-(-total // GRID_MAX))]
    if not force:  # the names are known before the model loads: a file already there is said now
        from zoo.fsutil import refuse_existing

        refuse_existing(p for s in stems for p in generation_paths(out_dir, s, interpolation=walk))
    model = zoo.load(name, pretrained=not random_init, weights=weights, device=device)
    if getattr(model, "inputs", "images") != "latents":
        raise InputError(f"{name} translates images; use 'zoo predict {name} IMAGE... --out DIR'")
    from zoo.fsutil import make_out_dir

    make_out_dir(out_dir, "--out")  # one level: a typo'd parent is refused, not created
    cls = list(classes) if classes else None
    if saved is not None:
        request = saved
    elif steps is not None:
        request = interpolation_request(model, steps, seed=seed, classes=cls, truncation=truncation)
    else:
        request = GenerationRequest(n=n, seed=seed, classes=cls, truncation=truncation)
    parts = model.predict_batches(request, GRID_MAX) if steps is None else iter([model.predict(request)])
    paths, last, count = [], None, 0
    for i, result in enumerate(parts):  # one grid (and inputs JSON) per GRID_MAX images: memory bound by a grid
        paths += write_generation(result, out_dir, stems[i], interpolation=walk)
        last, count = result, i + 1
    if as_json:
        doc = {"model": model.spec.name, "weights": model.weights_source, "files": [str(p) for p in paths]}
        emit_json({**doc, "result": last.to_json()} if count == 1 and last is not None else {**doc, "grids": count})
        return
    if count > 2:
        click.echo(f"wrote {count} grids of up to {GRID_MAX} images and their inputs: {paths[0]} ... {paths[-1]}",
                   err=True)
    else:
        for p in paths:
            click.echo(f"wrote {p}", err=True)
    if random_init or model.weights_source == "random init":
        click.echo("random weights: these images are noise", err=True)


def _read_inputs(path: Path, name: str) -> dict[str, Any]:
    """A JSON object written by `zoo generate` for this model (another model's latents mean nothing here)."""
    import json

    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"--inputs {path}: not a JSON file written by zoo generate ({e})") from None
    if not isinstance(saved, dict) or "latents" not in saved:
        raise InputError(f"--inputs {path}: not a JSON file written by zoo generate (no latents object)")
    if saved.get("model") not in (None, name):
        raise InputError(f"--inputs {path}: written for {saved['model']}, not {name}; "
                         f"run 'zoo generate {saved['model']} --inputs {path}'")
    return saved


def _saved_request(saved: dict[str, Any], path: Path) -> Any:
    from zoo.tasks.generation import GenerationRequest

    try:
        return GenerationRequest.from_json(saved)
    except (TypeError, ValueError, AttributeError) as e:
        raise InputError(f"--inputs {path}: its fields are not what zoo generate writes ({e})") from None


def _replay_base(stem: str, model: str) -> str:
    """'dcgan-64-seed0-n16-again' -> 'seed0-n16': a replay of a replay keeps the name instead of growing it."""
    stem = stem.removeprefix(f"{model}-")
    while stem.endswith("-again"):
        stem = stem.removesuffix("-again")
    return stem


def _check_classes(spec: Any, classes: tuple[str, ...]) -> None:
    from zoo.categories import categories
    from zoo.tasks.generation import resolve_class

    if not spec.categories:
        raise InputError(f"{spec.name} is unconditional: it takes no --class")
    labels = categories(spec.categories)
    for c in classes:
        resolve_class(c, labels, len(labels))
