"""`zoo plugins`: every entry point in group "zoo", its hooks, models and errors."""

from __future__ import annotations

import sys

import click

from zoo.cli.output import emit_json, plural, table


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
@click.option("--requirements", is_flag=True, help="print name==version lines of plugin distributions")
def plugins_cmd(as_json: bool, requirements: bool) -> None:
    """Show installed plugins; exits 1 when any failed to load or register."""
    from zoo.cli import COMMANDS
    from zoo.cli.plugin_commands import plugin_commands
    from zoo.plugin_manager import plugin_report

    infos = plugin_report()
    plugin_commands(COMMANDS)  # so a failing commands hook shows here
    if requirements:
        for dist in sorted({(i.distribution, i.version) for i in infos if i.distribution}):
            click.echo(f"{dist[0]}=={dist[1]}")
        return
    if as_json:
        emit_json([{"name": i.name, "module": i.module, "distribution": i.distribution, "version": i.version,
                    "hooks": i.hooks, "models": i.models, "ok": i.ok, "errors": i.errors} for i in infos])
    else:
        rows = [[i.name, i.module, f"{i.distribution} {i.version}".strip(), ", ".join(i.hooks), len(i.models),
                 "ok" if i.ok else "FAILED: " + " | ".join(i.errors)] for i in infos]
        table(plural(len(infos), "plugin"), ["name", "module", "distribution", "hooks", "models", "status"], rows)
    if any(not i.ok for i in infos):
        sys.exit(1)
