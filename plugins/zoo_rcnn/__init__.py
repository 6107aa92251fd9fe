"""Built-in family "rcnn": R-CNN, Fast R-CNN (selective search + shared region ops), and torchvision's
Faster R-CNN and Mask R-CNN (torchvision .pth files: the core's "pytorch-torchvision-detection" converter).
Importing this module must not import torch (zoo list stays fast)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.builtin(family="rcnn", builder="zoo_rcnn.models:build")


@hookimpl
def zoo_register_commands(cli: Any) -> None:
    from zoo_rcnn.cli import compose_cmd

    cli.add_command(compose_cmd)
