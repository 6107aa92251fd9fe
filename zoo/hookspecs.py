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
    `register.yaml(path, builder)` adds the rows of a plugin's own YAML file;
    `register.labels(name, labels, keypoints=None, skeleton=None)` adds a label set that specs name in
    `categories` (labels: a list or a text file, one per line).
    """


@hookspec
def zoo_register_tasks(register: Any) -> None:
    """Add tasks (rarely needed: classification, detection, instance-segmentation, ... are built in).

    `register(Task(...))` or `register(name=..., description=..., result="module:Class", options=[...])`;
    see zoo/tasks/catalog.py for the fields. Tasks register before any plugin's models.
    """


@hookspec
def zoo_register_converters(register: Any) -> None:
    """Add weight converters: `register(format_name, fn)`.

    `fn(path, spec, target) -> dict of tensors` in the zoo's layout, where `target` maps each key of the zoo
    network's state dict to its shape (the network is built once, on the meta device, by the core); `path` is a
    folder when the weights entry lists several `files`. `fn(path, spec)` (no target) works too.
    """


@hookspec
def zoo_register_trainers(register: Any) -> None:
    """Add trainers for `zoo train NAME`: `register(model, "module:function")`, `model` a model name or an arch.

    `fn(spec, request, progress) -> dict`: `request` is a zoo.training.TrainRequest (data, out, epochs, batch size,
    device, ...), `progress` says whether to draw a progress bar; the dict summarises the run (see zoo.training).
    """


@hookspec
def zoo_register_commands(cli: Any) -> None:
    """Add click commands to the `zoo` command group: `cli.add_command(cmd)`."""
