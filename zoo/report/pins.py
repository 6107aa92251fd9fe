"""Where a weights entry comes from and how it is pinned, in words, from the spec's public fields only (the one
place to adapt when WeightsSpec's description of sources changes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WeightsPin:
    tag: str
    default: bool
    sources: tuple[str, ...]  # where the file can be fetched, in the order tried ("" none: import only)
    pin: str  # how its content is checked
    format: str
    description: str


def describe(w: Any, default: bool) -> WeightsPin:
    """Every field read with getattr: a spec with sources instead of repo fields (or the reverse) both work."""
    sources = tuple(_source_text(s) for s in getattr(w, "all_sources", None) or getattr(w, "sources", ()) or ())
    repo_id = getattr(w, "repo_id", None)
    if not sources and repo_id:
        repo_type = getattr(w, "repo_type", "model")
        kind = "" if repo_type == "model" else f"{repo_type}s/"
        sources = (f"hub: {kind}{repo_id}/{getattr(w, 'filename', None) or ''}@{getattr(w, 'revision', 'main')}",)
    files = getattr(w, "files", ()) or ()
    sha = getattr(w, "sha256", None)
    if sha:
        pin = f"sha256 {sha} (registry)"
    elif files and all(f.sha256 for f in files):
        pin = "sha256 per file (registry): " + ", ".join(f"{f.filename} {f.sha256[:12]}…" for f in files)
    elif files and any(f.sha256 for f in files):
        pin = ("sha256 per file where the registry has one: "
               + ", ".join(f"{f.filename} {f.sha256[:12]}…" for f in files if f.sha256)
               + "; the others recorded on first download")
    elif sources:
        pin = "no sha256 in the registry: the source's own hash, recorded on first download"
    else:
        pin = "no sha256 in the registry: recorded on import"
    return WeightsPin(w.tag, default, sources, pin, getattr(w, "format", ""), getattr(w, "description", ""))


def _source_text(source: Any) -> str:
    """A source object in one line: its kind, then its location fields as they are named."""
    if isinstance(source, str):
        return source
    kind = getattr(source, "kind", None) or type(source).__name__
    if kind == "hub" and getattr(source, "repo_id", None):  # as the Hub spells it: [spaces/]repo/file@revision
        prefix = "" if getattr(source, "repo_type", "model") == "model" else f"{source.repo_type}s/"
        return f"hub: {prefix}{source.repo_id}/{getattr(source, 'filename', None) or ''}@{getattr(source, 'revision', 'main')}"
    if kind in ("url", "torchvision"):
        return f"{kind}: {getattr(source, 'url', None) or getattr(source, 'weights', '')}"
    fields = getattr(source, "__dataclass_fields__", {})
    parts = [f"{k}={getattr(source, k)}" for k in fields if k != "kind" and getattr(source, k) not in (None, "")]
    return f"{kind}: " + ", ".join(parts)


def pin_summary(spec: Any) -> str:
    """The index's 'pinned' cell for the default weights: registry sha256, recorded on download/import, none."""
    w = spec.default_weights()
    if w is None:
        return "no weights"
    d = describe(w, True)
    if d.pin.startswith("sha256 per file where"):
        return "sha256 in registry for some files"
    if d.pin.startswith("sha256"):
        return "sha256 in registry"
    return "hash recorded on download" if d.sources else "hash recorded on import"
