"""`zoo compose-weights NAME`: the R-CNN family's extra command (added through zoo_register_commands)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("compose-weights")
@click.argument("name")
@click.option("--tag", help="recipe (default: the model's first); see 'zoo info NAME'")
@click.option("--from", "sources", multiple=True, metavar="MODEL=FILE",
              help="take MODEL's weights from a safetensors FILE instead of the cache (repeatable)")
def compose_cmd(name: str, tag: str | None, sources: tuple[str, ...]) -> None:
    """Compose R-CNN / Fast R-CNN weights from other cached models (no weights were ever published)."""
    from zoo.errors import InputError
    from zoo_rcnn.compose import compose_weights

    given = {}
    for item in sources:
        model, sep, file = item.partition("=")
        if not sep:
            raise InputError(f"--from expects MODEL=FILE, got '{item}'")
        given[model] = Path(file)
    _, report = compose_weights(name, tag, given)
    click.echo(f"{report.model}.{report.tag}: {report.summary}", err=True)
    for src, n in report.copied.items():
        click.echo(f"  {n} tensors from {src}", err=True)
    click.echo(f"  {len(report.random)} tensors left at random init", err=True)
    click.echo(report.path)
