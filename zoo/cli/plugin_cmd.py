"""`zoo plugin new NAME` (scaffold a plugin package) and `zoo plugin check NAME` (the conformance kit)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.group("plugin")
def plugin_group() -> None:
    """Write and check third-party plugins."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--family", help="family name of its models (default: NAME without a zoo- prefix)")
@click.option("--task", type=click.Choice(["classification", "detection"]), default="classification",
              show_default=True, help="task of the example model")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="where to create the package folder")
def new_cmd(name: str, family: str | None, task: str, parent: Path) -> None:
    """Scaffold a ready-to-publish plugin distribution NAME (e.g. zoo-mymodels)."""
    from zoo.testing.scaffold import scaffold

    root = scaffold(name, parent, family=family, task=task)
    click.echo(f"created {root}: pip install -e {root} && pytest {root}", err=True)


@plugin_group.command("check")
@click.argument("plugin")
@click.option("--model", "models", multiple=True, help="check only this model (repeatable)")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="predict on this image")
def check_cmd(plugin: str, models: tuple[str, ...], image: Path | None) -> None:
    """Run the conformance kit on an installed plugin (entry-point name, module or distribution).

    One line per check; a failing check says what to fix. Exits 1 when any check fails."""
    from zoo.testing.kit import KitFailure, plugin_checks

    checks = plugin_checks(plugin, image, list(models) or None)
    failed = 0
    start = time.perf_counter()
    for check in checks:
        try:
            check()
            click.echo(f"ok    {check.id}")
        except KitFailure as e:
            failed += 1
            click.echo(f"FAIL  {e}")
    click.echo(f"{len(checks) - failed} passed, {failed} failed ({time.perf_counter() - start:.1f} s)", err=True)
    if failed:
        sys.exit(1)
