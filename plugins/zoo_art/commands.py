"""`zoo stylize` and `zoo dream`: click commands the art plugin adds (torch loads only when they run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def _warn(msg: str) -> None:
    click.echo(f"warning: {msg}", err=True)


def _progress(total: int, label: str):  # -> (rich Progress, task id)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=False)
    return progress, progress.add_task(label, total=total, info="")


@click.command("stylize")
@click.argument("content")
@click.argument("style")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="output image (default: CONTENT.stylized.png next to the working directory)")
@click.option("--size", type=int, default=512, show_default=True, help="longer side of the output in pixels")
@click.option("--steps", type=int, default=300, show_default=True, help="loss evaluations (L-BFGS) or Adam steps")
@click.option("--style-weight", type=float, default=1e6, show_default=True)
@click.option("--content-weight", type=float, default=1.0, show_default=True)
@click.option("--tv-weight", type=float, default=0.0, show_default=True, help="total-variation smoothing weight")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--save-every", type=int, default=None, help="also write the image every N steps (OUT.stepNNNN.png)")
@click.option("--force", is_flag=True, help="overwrite --out (and its OUT.stepNNNN.png) if they exist")
def stylize_cmd(content: str, style: str, out: Path | None, size: int, steps: int, style_weight: float,
                content_weight: float, tv_weight: float, optimizer: str, device: str, seed: int,
                save_every: int | None, force: bool) -> None:
    """Repaint CONTENT in the style of STYLE (Gatys et al. on VGG-19: content conv4_2, style conv1_1..conv5_1)."""
    from zoo.devices import resolve_device
    from zoo.errors import InputError
    from zoo.fsutil import refuse_existing
    from zoo.images import check_image_out, load_image
    from zoo_art.style import check_style_size, check_weights, intermediate_path, output_size, stylize

    resolve_device(device)  # an unusable --device: one line before the progress bar
    for path in (content, style):
        load_image(path)  # unreadable images and bad numbers: one line before any model loads
    for flag, value in (("--size", size), ("--steps", steps), ("--save-every", save_every)):
        if value is not None and value <= 0:
            raise InputError(f"{flag} must be positive, got {value}")
    check_weights(style_weight, content_weight, tv_weight)
    h, w = load_image(content).shape[:2]
    check_style_size(output_size(h, w, size))  # VGG-19's pools need 16 px a side: said now, not by torch later
    out = check_image_out(out or Path(f"{Path(content).stem}.stylized.png"))
    steps_saved = range(save_every, steps + 1, save_every) if save_every else ()
    if not force:
        refuse_existing([out, *(intermediate_path(out, i) for i in steps_saved)])
    progress, task = _progress(steps, "stylize")

    def step(i: int, losses: object) -> None:
        progress.update(task, completed=min(i, steps), info=f"total {losses.total:.4g} content {losses.content:.4g} "
                                                            f"style {losses.style:.4g}")

    with progress:
        result = stylize(content, style, size=size, steps=steps, style_weight=style_weight,
                         content_weight=content_weight, tv_weight=tv_weight, optimizer=optimizer, device=device,
                         seed=seed, save_every=save_every, save_to=out, callback=step, warn=_warn)
    _save(result.pil(), out)
    last = result.losses[-1]
    click.echo(f"wrote {out} ({result.image.shape[2]}x{result.image.shape[1]}, {len(result.losses)} steps, "
               f"{result.seconds:.1f} s, loss {result.losses[0].total:.4g} -> {last.total:.4g}; vgg19: {result.features})",
               err=True)


@click.command("dream")
@click.argument("image")
@click.option("--model", default="googlenet", show_default=True, help="a classic-family classifier")
@click.option("--layer", default="inception4c", show_default=True, help="module name, e.g. inception4c, layer3")
@click.option("--octaves", type=int, default=4, show_default=True)
@click.option("--steps", type=int, default=20, show_default=True, help="gradient-ascent steps per octave")
@click.option("--octave-scale", type=float, default=1.4, show_default=True)
@click.option("--size", type=int, default=None, help="cap the longer side (pixels)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="output image (default: IMAGE.dream.png in the working directory)")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="overwrite --out if it exists")
def dream_cmd(image: str, model: str, layer: str, octaves: int, steps: int, octave_scale: float, size: int | None,
              out: Path | None, device: str, seed: int, force: bool) -> None:
    """DeepDream IMAGE: amplify what LAYER of MODEL sees, octave by octave."""
    import zoo
    from zoo.errors import InputError
    from zoo.fsutil import refuse_existing
    from zoo.images import check_image_out, load_image
    from zoo_art.dream import capped_size, check_octaves, dream, load_classifier, octave_sizes, resolve_layer

    h, w = load_image(image).shape[:2]
    octave_sizes(1, 1, octaves)  # bad numbers, images, models and layers: one line before any work
    for flag, value in (("--steps", steps), ("--size", size)):
        if value is not None and value <= 0:
            raise InputError(f"{flag} must be positive, got {value}")
    if octave_scale <= 1:
        raise InputError(f"--octave-scale must be > 1, got {octave_scale}")
    spec = zoo.get_spec(model)
    if spec.task != "classification":
        raise InputError(f"{model} is a {spec.task} model; dream needs a classifier (e.g. googlenet, vgg16, resnet50)")
    out = check_image_out(out or Path(f"{Path(image).stem}.dream.png"))
    if not force:
        refuse_existing([out])
    net = load_classifier(model, device, _warn)
    resolve_layer(net.net, layer)
    check_octaves(net, octave_sizes(*capped_size(h, w, size), octaves, octave_scale))
    progress, task = _progress(steps * octaves, "dream")

    def step(i: int, norm: float) -> None:
        progress.update(task, completed=i, info=f"{layer} rms {norm:.4g}")

    with progress:
        result = dream(image, net, layer, octaves=octaves, steps=steps, octave_scale=octave_scale, size=size,
                       device=device, seed=seed, callback=step, warn=_warn)
    _save(result.pil(), out)
    click.echo(f"wrote {out} (octaves {', '.join(f'{h}x{w}' for h, w in result.sizes)}; {layer} rms "
               f"{result.norms[0]:.4g} -> {result.norms[-1]:.4g}; {result.seconds:.1f} s; weights: {result.weights})",
               err=True)


def _save(image: Any, out: Path) -> None:
    """The result image, written atomically (a temp file with out's extension, then renamed)."""
    from zoo.fsutil import atomic_path

    with atomic_path(out) as tmp:
        image.save(tmp)
