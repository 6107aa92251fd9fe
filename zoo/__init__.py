"""cvzoo: classic vision models by name, verified weights, one benchmark harness.

    import zoo
    zoo.list_models("resnet*")
    model = zoo.load("resnet50")
    model.predict("cat.jpg")

Attributes are imported lazily so that `import zoo` (and `zoo list`) never imports torch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "list_models": "zoo.api",
    "get_spec": "zoo.api",
    "build": "zoo.api",
    "load": "zoo.api",
    "bench": "zoo.bench",
    "evaluate": "zoo.eval",
    "ModelSpec": "zoo.spec",
    "WeightsSpec": "zoo.spec",
    "Registry": "zoo.registry",
    "ZooModel": "zoo.model",
    "hookimpl": "zoo.hookspecs",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
