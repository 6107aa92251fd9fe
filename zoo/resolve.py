"""Where a model's weights come from, decided in one place (timm's split: resolving *where* is separate from
loading *how*). `zoo.load`, the benchmark harness and the R-CNN composer all ask this module."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import WeightsNotFoundError
from zoo.registry import Resolved
from zoo.spec import ModelSpec, WeightsSpec

LOCAL = WeightsSpec(tag="local", description="imported by the user")  # for models whose registry row has no weights


@dataclass(frozen=True)
class WeightsSource:
    """Resolved weights: `kind` is "file" (a local checkpoint), "cache" (zoo-cache safetensors) or "none"."""

    kind: str
    path: Path | None
    label: str  # what the loaded model reports as `weights_source`
    entry: WeightsSpec


def entry_of(resolved: Resolved) -> WeightsSpec:
    """The weights entry a name selects, or the "local" entry for models without one."""
    return resolved.weights or LOCAL


def entry_for_tag(spec: ModelSpec, tag: str) -> WeightsSpec:
    """The registry's entry for `tag`, or a "local"-like entry of that tag (weights cached under a tag the
    registry does not list, e.g. imported or composed ones)."""
    return spec.weights_for(tag) or (LOCAL if tag == LOCAL.tag else dataclasses.replace(LOCAL, tag=tag))


def resolve_weights(resolved: Resolved, weights: str | Path | None = None, download: bool = True) -> WeightsSource:
    """A local file if given; else the cache; else a download (when allowed and published); else "none"
    when `download` is False (the harness never downloads), or WeightsNotFoundError naming the fix."""
    from zoo.cache import cached_weights

    spec, entry = resolved.spec, entry_of(resolved)
    if weights is not None:
        path = Path(weights)
        if not path.exists():
            raise WeightsNotFoundError(f"{path}: no such weights file")
        return WeightsSource("file", path, str(path), entry)
    path = cached_weights(spec, entry)
    label = f"{spec.name}.{entry.tag}"
    if path is not None:
        return WeightsSource("cache", path, label, entry)
    if not download:
        return WeightsSource("none", None, "random init", entry)
    if entry.obtainable:
        from zoo.hub import download as hub_download

        return WeightsSource("cache", hub_download(spec, entry), label, entry)
    what = (f"{spec.name}.{entry.tag}: these weights are not published on the Hub ({entry.description})"
            if resolved.weights else f"{spec.name}: no pretrained weights are published for it")
    raise WeightsNotFoundError(f"{what}; bring a checkpoint with 'zoo import {spec.name} FILE', "
                               "or use pretrained=False (--random-init) for random weights")


def read_state(source: WeightsSource, spec: Any, device: Any = "cpu", registry: Any = None) -> dict[str, Any]:
    """The state dict a source holds: safetensors read directly, an original checkpoint converted in memory
    through the same converters as `zoo import`."""
    from zoo.weights import read_safetensors

    if source.path is None:
        raise WeightsNotFoundError(f"{spec.name}: no weights to read")
    if source.kind == "file" and not (source.path.is_file() and source.path.suffix == ".safetensors"):
        from zoo.convert import convert_any

        state, _ = convert_any(spec, source.entry, source.path, registry=registry)
        return state
    if source.kind == "cache":  # the cached file must still be what its lock recorded (ZOO_VERIFY)
        from zoo.cache import check_cached

        check_cached(source.path, spec.name, source.entry.tag)
    return read_safetensors(source.path, device)
