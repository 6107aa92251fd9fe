"""Built-in family "gan": DCGAN (with `zoo train`), BigGAN-deep and CycleGAN generators, and converters for their
original checkpoints. Hooks only: nothing here imports torch (builders, converters and commands load lazily)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.builtin(family="gan", builder="zoo_gan.models:build")


@hookimpl
def zoo_register_converters(register: Any) -> None:
    register("pytorch-dcgan", "zoo_gan.convert:read_dcgan")
    register("pytorch-biggan", "zoo_gan.convert:read_biggan")
    register("pytorch-cyclegan", "zoo_gan.convert:read_cyclegan")


@hookimpl
def zoo_register_commands(cli: Any) -> None:
    from zoo_gan.cli import train_cmd

    cli.add_command(train_cmd)
