"""The public Python API: list, inspect, build and load models by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.errors import ArgumentError, InputError, SpecError
from zoo.plugin_manager import default_registry
from zoo.refs import resolve_ref
from zoo.registry import Registry
from zoo.spec import ModelSpec


def list_models(pattern: str | list[str] | None = None, exclude: str | list[str] | None = None, task: str | None = None,
                family: str | None = None, license: str | None = None, pretrained: bool = False,
                registry: Registry | None = None) -> list[str]:
    """Model names matching fnmatch patterns and filters, naturally sorted."""
    return (default_registry() if registry is None else registry).list(pattern, exclude, task, family, license, pretrained)


def get_spec(name: str, registry: Registry | None = None) -> ModelSpec:
    """The spec of `name` (or `name.tag`); unknown names raise UnknownModelError with suggestions."""
    return (default_registry() if registry is None else registry).get(name)


def build(spec: ModelSpec | str, device: Any = "cpu", registry: Registry | None = None, **options: Any) -> Any:
    """Build a ZooModel with random init (device="meta": shapes only, no memory)."""
    import torch

    if isinstance(spec, str):
        spec = get_spec(spec, registry)
    device = auto_device(device)
    builder = resolve_ref(spec.builder)
    kwargs = {**spec.options, **options}
    _check_builder_options(spec, builder, kwargs)
    if str(device) == "meta":
        with torch.device("meta"):
            model = builder(spec, **kwargs)
    else:
        model = builder(spec, **kwargs)
        model = model.to(device)
    from zoo.model import ZooModel

    if not isinstance(model, ZooModel):
        raise SpecError(f"builder of '{spec.name}' returned {type(model).__name__}, not a ZooModel")
    model.registry = registry
    return model.eval()


def auto_device(device: Any) -> Any:
    """The device to build on: "meta" as is, anything else through zoo.devices.resolve_device ("auto" ->
    cuda when available; "bogus" -> the one InputError every command shows, before any weights are read)."""
    if str(device) == "meta":
        return device
    from zoo.devices import resolve_device

    return resolve_device(device)


def _check_builder_options(spec: ModelSpec, builder: Any, kwargs: dict[str, Any]) -> None:
    """Unknown builder options raise InputError naming the valid ones (a builder with **kwargs takes any)."""
    import inspect

    params = list(inspect.signature(builder).parameters.values())[1:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    valid = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        raise InputError(f"{spec.name} does not take builder option{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(k) for k in unknown)} (it takes: {', '.join(valid) or 'none'})")


def load(name: str, pretrained: bool = True, weights: str | Path | None = None, device: Any = "cpu",
         registry: Registry | None = None, *, backend: str = "torch", precision: str = "fp32",
         threads: int | None = None, optimize: bool | int = False, **options: Any) -> Any:
    """Build `name` and load its weights: a local file, the cache (downloading if needed), or none.

    `backend` ("onnxruntime", "openvino", ...: zoo.runtimes.BACKENDS) runs the network there at `precision`
    with `threads` CPU threads (zoo.runtimes.with_backend: exported once, cached in ZOO_HOME/exports).
    optimize=True configures the model with the fastest correct configuration for its device at batch size 1
    (an int: at that batch size), from the cache in ZOO_HOME or searched once (zoo.bench.optimize)."""
    if optimize not in (False, None) and (backend != "torch" or precision != "fp32"):
        raise ArgumentError(("optimize", "backend", "precision"),
                            "{0} picks the backend and precision itself: give {0} or {1}/{2}, not both")
    if backend != "torch" or precision != "fp32":
        from zoo.runtimes import check_backend, check_precision, with_backend

        check_precision(check_backend(backend), precision)  # a typo fails before any weights are read
        model = _load(name, pretrained, weights, device, registry, **options)
        return with_backend(model, backend, precision=precision, threads=threads)
    model = _load(name, pretrained, weights, device, registry, **options)
    if optimize is False or optimize is None:
        return model
    from zoo.bench.optimize import optimize_model

    return optimize_model(model, batch_size=1 if optimize is True else int(optimize))


def _load(name: str, pretrained: bool, weights: str | Path | None, device: Any, registry: Registry | None,
          **options: Any) -> Any:
    from zoo.resolve import resolve_weights

    resolved = (default_registry() if registry is None else registry).resolve(name)
    if weights is not None and not pretrained:
        raise ArgumentError(("weights", "pretrained=False"), "{} FILE and {} contradict each other: give one")
    device = auto_device(device)  # a bad --device is named as such, not blamed on the cache file
    if weights is None and not pretrained:
        return build(resolved.spec, device, registry, **options)
    return load_from(resolve_weights(resolved, weights), resolved.spec, device, registry, **options)


def load_from(source: Any, spec: ModelSpec, device: Any = "cpu", registry: Registry | None = None,
              **options: Any) -> Any:
    """Build `spec` on the meta device and fill it from a resolved WeightsSource (zoo.resolve)."""
    from zoo.resolve import read_state
    from zoo.weights import load_into

    device = auto_device(device)
    state = read_state(source, spec, device, registry)
    model = build(spec, device="meta", registry=registry, **options)
    if not model.supports_meta_init:
        model = build(spec, device="cpu", registry=registry, **options)
    load_into(model.net, state, source.label)
    model = model.to(device)
    model.weights_source = source.label
    return model.eval()
