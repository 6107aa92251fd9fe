"""Built-in plugin "art": the `zoo stylize` (Gatys et al. style transfer on VGG-19) and `zoo dream` (DeepDream on
any classic-family classifier) commands. It registers no models: it uses the classic family's networks by name.
Hooks only: nothing here imports torch (the commands load it when they run)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_commands(cli: Any) -> None:
    from zoo_art.commands import dream_cmd, stylize_cmd  # click only: torch loads when a command runs

    cli.add_command(stylize_cmd)
    cli.add_command(dream_cmd)
