"""The public Python API: list, inspect, build and load models by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.errors import SpecError, WeightsNotFoundError
from zoo.plugins import default_registry
from zoo.refs import resolve_ref
from zoo.spec import ModelSpec


def list_models(pattern: str | list[str] | None = None, exclude: str | list[str] | None = None, task: str | None = None,
                family: str | None = None, license: str | None = None, pretrained: bool = False) -> list[str]:
    """Model names matching fnmatch patterns and filters, naturally sorted."""
    return default_registry().list(pattern, exclude, task, family, license, pretrained)


def get_spec(name: str) -> ModelSpec:
    """The spec of `name` (or `name.tag`); unknown names raise UnknownModelError with suggestions."""
    return default_registry().get(name)


def build(spec: ModelSpec | str, device: Any = "cpu", **options: Any) -> Any:
    """Build a ZooModel with random init (device="meta": shapes only, no memory)."""
    import torch

    if isinstance(spec, str):
        spec = get_spec(spec)
    builder = resolve_ref(spec.builder)
    kwargs = {**spec.options, **options}
    if str(device) == "meta":
        with torch.device("meta"):
            model = builder(spec, **kwargs)
    else:
        model = builder(spec, **kwargs)
        model = model.to(device)
    from zoo.model import ZooModel

    if not isinstance(model, ZooModel):
        raise SpecError(f"builder of '{spec.name}' returned {type(model).__name__}, not a ZooModel")
    return model.eval()


def load(name: str, pretrained: bool = True, weights: str | Path | None = None, device: Any = "cpu",
         **options: Any) -> Any:
    """Build `name` and load its weights: a local file, the cache (downloading if needed), or none."""
    import torch

    from zoo import hub
    from zoo.weights import load_into, read_safetensors

    resolved = default_registry().resolve(name)
    spec = resolved.spec
    if weights is None and not pretrained:
        return build(spec, device, **options)
    if weights is not None:
        from zoo.spec import WeightsSpec

        path = Path(weights)
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: no such weights file")
        if path.suffix == ".safetensors":
            state = read_safetensors(path, device)
        else:  # an original checkpoint: converted in memory through the same converters as `zoo import`
            state, _ = hub.convert_any(spec, resolved.weights or WeightsSpec(tag="local"), path)
        source = str(path)
    else:
        from zoo.spec import WeightsSpec

        w = resolved.weights or WeightsSpec(tag="local")
        path = hub.cached_weights(spec, w)
        if path is None and w.obtainable:
            path = hub.download(spec, w)
        if path is None:
            what = (f"{spec.name}.{w.tag}: these weights are not published on the Hub ({w.description})"
                    if resolved.weights else f"{spec.name}: no pretrained weights are published for it")
            raise WeightsNotFoundError(f"{what}; bring a checkpoint with 'zoo import {spec.name} FILE', "
                                       "or use pretrained=False (--random-init) for random weights")
        state = read_safetensors(path, device)
        source = f"{spec.name}.{w.tag}"
    model = build(spec, device="meta", **options)
    if not model.supports_meta_init:
        model = build(spec, device="cpu", **options)
    load_into(model.net, state, source)
    model = model.to(torch.device(device) if not isinstance(device, torch.device) else device)
    model.weights_source = source
    return model.eval()
