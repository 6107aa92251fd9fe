"""Built-in family "cornernet": CornerNet (Hourglass-104) and CornerNet-Squeeze (CornerNet-Lite), objects as
paired top-left / bottom-right corners with corner pooling, plus a converter for the princeton-vl `.pkl`
checkpoints. Hooks only: nothing here imports torch (builders and converters load lazily)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.builtin(family="cornernet", builder="zoo_cornernet.models:build")


@hookimpl
def zoo_register_converters(register: Any) -> None:
    register("pytorch-cornernet", "zoo_cornernet.convert:read_cornernet_pkl")
