"""The plugin contract. A family plugin is a module that implements some of these hooks.

Each hook receives a `register` callback defined by the host, so plugins hand over data in one
validated shape and never return structures of their own.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")


@hookspec
def zoo_register_models(register: Any) -> None:
    """Add model specs.

    `register(spec)` adds a ModelSpec (or a dict in registry.yaml form plus `builder=`);
    `register.builtin(family, builder)` adds the rows of the bundled registry.yaml whose family matches;
    `register.yaml(path, builder)` adds the rows of a plugin's own YAML file.
    """


@hookspec
def zoo_register_converters(register: Any) -> None:
    """Add weight converters: `register(format_name, fn)` where fn(path, spec) -> dict of tensors."""


@hookspec
def zoo_register_commands(cli: Any) -> None:
    """Add click commands to the `zoo` command group: `cli.add_command(cmd)`."""
