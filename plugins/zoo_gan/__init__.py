"""Built-in family "gan": DCGAN (with a trainer for `zoo train`), BigGAN-deep and CycleGAN generators, and converters
for their original checkpoints. Hooks only: nothing here imports torch (builders, converters and trainers load lazily)."""

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
def zoo_register_trainers(register: Any) -> None:
    register("dcgan-64", "zoo_gan.train:train_dcgan")
