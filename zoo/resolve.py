"""Which weights a model loads, decided in one place (timm's split: resolving *where* is separate from loading
*how*): a file the caller gives, else the cache, else a download from the entry's sources (zoo.sources).
`zoo.load`, the benchmark harness, `zoo publish` and the R-CNN weight composer ask this module; building
the net to load into is the caller's (zoo.api), which hands in the expected state dict for conversions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import WeightsFileNotFoundError, WeightsNotFoundError
from zoo.registry import Resolved
from zoo.sources import ExpectedState
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


def resolve_weights(resolved: Resolved, weights: str | Path | None = None, download: bool = True,
                    expected: ExpectedState | None = None) -> WeightsSource:
    """A local file if given; else the cache; else a download from the entry's sources (when `download`;
    `expected` is then the model's state dict or a callable building it, for the conversion); else "none"
    when `download` is False (the harness never downloads), or WeightsNotFoundError naming the fix."""
    from zoo.cache import cached_weights

    spec, entry = resolved.spec, entry_of(resolved)
    if weights is not None:
        path = Path(weights)
        if not path.exists():
            raise WeightsFileNotFoundError(f"{path}: no such weights file")
        return WeightsSource("file", path, str(path), entry)
    path = cached_weights(spec, entry)
    label = f"{spec.name}.{entry.tag}"
    if path is not None:
        return WeightsSource("cache", path, label, entry)
    if not download:
        return WeightsSource("none", None, "random init", entry)
    if entry.obtainable:
        from zoo.sources import download as fetch

        if expected is None:
            raise TypeError("resolve_weights(download=True) needs `expected` to convert a download")
        return WeightsSource("cache", fetch(spec, entry, expected=expected), label, entry)
    from zoo.sources import what_instead

    raise WeightsNotFoundError(what_instead(spec, entry))


def read_state(source: WeightsSource, spec: Any, device: Any = "cpu", registry: Any = None,
               expected: ExpectedState | None = None) -> dict[str, Any]:
    """The state dict a source holds: safetensors read directly, an original checkpoint converted in memory
    through the same converters as `zoo import` (against `expected`, the model's state dict or a callable
    building it)."""
    from zoo.weights import read_safetensors

    if source.path is None:
        raise WeightsNotFoundError(f"{spec.name}: no weights to read")
    if source.kind == "file" and not (source.path.is_file() and source.path.suffix == ".safetensors"):
        from zoo.convert import convert_any

        if expected is None:
            raise TypeError(f"read_state: {source.path} needs converting, which needs `expected`")
        state, _ = convert_any(spec, source.entry, source.path, registry=registry, expected=expected)
        return state
    if source.kind == "cache":  # the cached file must still be what its lock recorded (ZOO_VERIFY)
        from zoo.cache import check_cached

        check_cached(source.path, spec.name, source.entry.tag)
    return read_safetensors(source.path, device)
