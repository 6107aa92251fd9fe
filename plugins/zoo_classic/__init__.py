"""Built-in family "classic": AlexNet, VGG, GoogLeNet, ResNet, DenseNet (torchvision architectures)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.builtin(family="classic", builder="zoo_classic.models:build")


@hookimpl
def zoo_register_converters(register: Any) -> None:
    register("safetensors-timm", "zoo_classic.convert:from_timm_safetensors")
    register("pytorch-torchvision", "zoo_classic.convert:from_torchvision_pth")
    register("safetensors-torchvision", "zoo_classic.convert:from_torchvision_safetensors")
