"""Where a model's weights come from, decided in one place (timm's split: resolving *where* is separate from
loading *how*). `zoo.load`, the benchmark harness and the R-CNN composer all ask this module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import WeightsNotFoundError
from zoo.registry import Resolved
from zoo.spec import WeightsSpec

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


def resolve_weights(resolved: Resolved, weights: str | Path | None = None, download: bool = True) -> WeightsSource:
    """A local file if given; else the cache; else a download (when allowed and published); else "none"
    when `download` is False (the harness never downloads), or WeightsNotFoundError naming the fix."""
    from zoo import hub

    spec, entry = resolved.spec, entry_of(resolved)
    if weights is not None:
        path = Path(weights)
        if not path.exists():
            raise WeightsNotFoundError(f"{path}: no such weights file")
        return WeightsSource("file", path, str(path), entry)
    path = hub.cached_weights(spec, entry)
    label = f"{spec.name}.{entry.tag}"
    if path is not None:
        return WeightsSource("cache", path, label, entry)
    if not download:
        return WeightsSource("none", None, "random init", entry)
    if entry.obtainable:
        return WeightsSource("cache", hub.download(spec, entry), label, entry)
    what = (f"{spec.name}.{entry.tag}: these weights are not published on the Hub ({entry.description})"
            if resolved.weights else f"{spec.name}: no pretrained weights are published for it")
    raise WeightsNotFoundError(f"{what}; bring a checkpoint with 'zoo import {spec.name} FILE', "
                               "or use pretrained=False (--random-init) for random weights")


def read_state(source: WeightsSource, spec: Any, device: Any = "cpu", registry: Any = None) -> dict[str, Any]:
    """The state dict a source holds: safetensors read directly, an original checkpoint converted in memory
    through the same converters as `zoo import`."""
    from zoo import hub
    from zoo.weights import read_safetensors

    if source.path is None:
        raise WeightsNotFoundError(f"{spec.name}: no weights to read")
    if source.kind == "file" and not (source.path.is_file() and source.path.suffix == ".safetensors"):
        state, _ = hub.convert_any(spec, source.entry, source.path, registry=registry)
        return state
    return read_safetensors(source.path, device)
