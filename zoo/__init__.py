"""cvzoo: classic vision models by name, verified weights, one benchmark harness.

    import zoo
    zoo.list_models("resnet*")
    model = zoo.load("resnet50")
    model.predict("cat.jpg")
    zoo.benchmark("resnet50", batch_sizes=[1, 8])
    zoo.evaluate("yolov3", coco="coco/")

Attributes are imported lazily so that `import zoo` (and `zoo list`) never imports torch.
"""

from __future__ import annotations

from typing import Any

from zoo.threads import apply_defaults

apply_defaults()  # before torch is first imported: OpenMP reads its wait policy once, when torch loads it

from zoo.version import __version__ as __version__  # noqa: E402

_API = {  # public name -> "module:attribute"
    "list_models": "zoo.api:list_models",
    "get_spec": "zoo.api:get_spec",
    "build": "zoo.api:build",
    "load": "zoo.api:load",
    "benchmark": "zoo.bench.runner:bench",
    "bench": "zoo.bench:bench",  # deprecated alias of zoo.benchmark (the name is also the package's)
    "evaluate": "zoo.eval:evaluate",
    "ModelSpec": "zoo.spec:ModelSpec",
    "WeightsSpec": "zoo.spec:WeightsSpec",
    "Registry": "zoo.registry:Registry",
    "Task": "zoo.taskspec:Task",
    "TaskOption": "zoo.taskspec:TaskOption",
    "ZooModel": "zoo.model:ZooModel",
    "hookimpl": "zoo.hookspecs:hookimpl",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        module, _, attr = _API[name].partition(":")
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
