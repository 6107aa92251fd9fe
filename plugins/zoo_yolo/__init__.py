"""Built-in family "yolo": YOLOv3, YOLOv3-SPP and YOLOv3-tiny from Darknet cfg files, with a converter for
Darknet `.weights`. Hooks only: nothing here imports torch (builders and converters load lazily)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.builtin(family="yolo", builder="zoo_yolo.models:build")


@hookimpl
def zoo_register_converters(register: Any) -> None:
    register("darknet", "zoo_yolo.convert:read_darknet_weights")
