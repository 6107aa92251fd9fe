"""Click commands that plugins add through `zoo_register_commands`: the CLI hands each plugin a click group of
its own, in isolation (zoo.plugin_manager.call_plugin_hook), and collects the commands once per plugin manager."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

_cache: tuple[Any, dict[str, click.Command]] | None = None  # (the plugin manager they came from, commands)


def plugin_commands(reserved: Iterable[str] = ()) -> dict[str, click.Command]:
    """Commands by name. A failing hook, or a name clash with `reserved` built-in commands or another plugin's
    command, is recorded in that plugin's report (`zoo plugins` shows it), never raised here."""
    global _cache
    from zoo.plugin_manager import call_plugin_hook, plugin_manager, plugin_report

    pm = plugin_manager()
    if _cache is not None and _cache[0] is pm:  # a reset plugin manager (tests) collects them again
        return _cache[1]
    found: dict[str, click.Command] = {}
    taken = set(reserved)
    for info in plugin_report():
        group = click.Group()
        if not call_plugin_hook(info.name, "zoo_register_commands", cli=group):
            continue
        for name, cmd in group.commands.items():
            if name in taken or name in found:
                info.errors.append(f"command '{name}' is already taken; not added")
                continue
            found[name] = cmd
    _cache = (pm, found)
    return found
