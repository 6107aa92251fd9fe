"""cvzoo plugin "mobilenet": MobileNet V2 / V3 as torchvision builds them. Hooks only: importing this module does
not import torch (zoo list stays fast); the builder is imported when a model is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.yaml(Path(__file__).with_name("registry.yaml"), builder="zoo_mobilenet.models:build")
