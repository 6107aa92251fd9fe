"""Converters: original checkpoint files -> state dicts in the zoo's layout (then safetensors in the cache).

`convert_file` runs one registered converter and checks its result against the model; `convert_any` tries
the formats that can read a local file; `convert_to_cache` and `import_file` check an original's hash,
convert it and store it (zoo.cache). Downloading is zoo.hub's job; building the model for its target
shapes goes through zoo.api, imported when a conversion runs (zoo.api never imports this package).
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.cache import Lock, store
from zoo.errors import ConversionError, WeightsMismatchError, WeightsNotFoundError
from zoo.fsutil import sha256_file
from zoo.spec import ModelSpec, WeightsSpec


def convert_file(spec: ModelSpec, path: Path, fmt: str, registry: Any = None) -> dict[str, Any]:
    """Run the converter registered for `fmt` and check the result against the model's keys and shapes.

    The model is built once, on the meta device; converters that take a third argument get its
    {key: shape} so they need not build it again."""
    from zoo.api import build
    from zoo.plugin_manager import default_registry
    from zoo.refs import resolve_ref
    from zoo.weights import check_state_dict

    registry = default_registry() if registry is None else registry
    conv = registry.converter(fmt)
    if conv is None:
        known = ", ".join(c.format for c in registry.converters())
        raise ConversionError(f"no converter for format '{fmt}' (known: {known})")
    fn = resolve_ref(conv.fn, "converter")
    expected = build(spec, device="meta", registry=registry).net.state_dict()
    target = {k: v.shape for k, v in expected.items()}
    takes_target = len(inspect.signature(fn).parameters) >= 3
    state = fn(path, spec, target) if takes_target else fn(path, spec)
    check_state_dict(expected, state, f"{path.name} (format {fmt})")
    return state


def original_sha256(w: WeightsSpec, path: Path) -> str:
    """sha256 of an original file; for a multi-file entry, of its manifest ("<sha256>  <name>" lines in the
    registry's order) after each file is checked against its own registry sha256."""
    if not w.multi_file:
        return sha256_file(path)
    if not path.is_dir():
        raise WeightsNotFoundError(f"{path}: {w.tag} weights are {len(w.files)} files "
                                   f"({', '.join(f.filename for f in w.files)}): give the folder holding them")
    lines = []
    for f in w.files:
        one = path / Path(f.filename).name
        if not one.is_file():
            raise WeightsNotFoundError(f"{path}: {Path(f.filename).name} is missing (the weights are "
                                       f"{', '.join(Path(x.filename).name for x in w.files)})")
        digest = sha256_file(one)
        if f.sha256 and digest != f.sha256:
            raise WeightsMismatchError(f"{one}: sha256 mismatch: expected {f.sha256}, got {digest}")
        lines.append(f"{digest}  {Path(f.filename).name}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def registry_pins_all(w: WeightsSpec) -> bool:
    """Whether the registry pins every file of the entry by sha256."""
    return all(f.sha256 for f in w.files) if w.multi_file else bool(w.sha256)


def convert_to_cache(spec: ModelSpec, w: WeightsSpec, original: Path, fmt: str, origin: str, origin_text: str,
                     expected_sha256: str | None, pinned_by: str) -> Path:
    """Check the original's hash, convert it, check it fits the model, and store safetensors + lock."""
    actual = original_sha256(w, original)
    if expected_sha256 and actual != expected_sha256:
        raise WeightsMismatchError(f"{original.name}: sha256 mismatch for {spec.name}.{w.tag}: "
                                   f"expected {expected_sha256}, got {actual} ({pinned_by})")
    state = convert_file(spec, original, fmt)
    out, _ = store(spec.name, w.tag, state, origin=origin, original=origin_text, original_format=fmt,
                   original_sha256=actual, pinned_by=pinned_by if expected_sha256 else "local")
    return out


def convert_any(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None,
                registry: Any = None) -> tuple[dict[str, Any], str]:
    """Convert a local checkpoint, trying the formats that can read it; errors list every attempt."""
    from zoo.convert.formats import guess_format

    if w.multi_file:
        original_sha256(w, path)  # every file present, and each matching its registry sha256
        candidates = [fmt or w.format]
    elif not path.is_file():
        raise WeightsNotFoundError(f"{path}: no such file" if not path.is_dir() else f"{path}: a folder, not a weights file")
    else:
        candidates = [fmt] if fmt else _import_formats(spec, w, guess_format(path), registry)
    errors = []
    for f in candidates:
        try:
            return convert_file(spec, path, f, registry), f
        except (ConversionError, WeightsMismatchError) as e:
            errors.append(f"as {f}: {e}")
    reasons = [e.split(": ", 1)[1] for e in errors]
    if len(set(reasons)) == 1:  # every reader failed the same way: the file itself is unreadable
        raise ConversionError(f"{reasons[0]} (tried as {', '.join(candidates)})")
    raise ConversionError(f"{path}: could not be read for {spec.name}: " + " | ".join(errors))


@dataclass(frozen=True)
class Imported:
    """What `zoo import` did: the cached file, its lock, and whether this call converted (False: the same
    original was already in the cache, e.g. converted by a concurrent import, and is reused)."""

    path: Path
    lock: Lock
    converted: bool


def import_entry(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None) -> Imported:
    """`zoo import`: a local original checkpoint through the same converters and checks as a download, under
    the entry's lock; an entry already converted from a file with the same sha256 (and intact) is reused."""
    from zoo.cache import check_cached, entry_lock, lock_of
    from zoo.paths import weights_dir

    if not path.exists():
        raise WeightsNotFoundError(f"{path}: no such file")
    if path.is_dir() and not w.multi_file:
        raise WeightsNotFoundError(f"{path}: a folder, not a weights file")
    actual = original_sha256(w, path)
    with entry_lock(spec.name, w.tag):
        folder = weights_dir(spec.name, w.tag)
        existing = lock_of(folder) if (folder / "model.safetensors").is_file() else None
        if existing is not None and existing.original_sha256 == actual and (fmt is None or existing.original_format == fmt):
            try:
                check_cached(folder / "model.safetensors", spec.name, w.tag)
                return Imported(folder / "model.safetensors", existing, False)
            except WeightsMismatchError:
                pass  # the cached copy is damaged: convert again
        state, used = convert_any(spec, w, path, fmt)
        pinned = "registry" if (registry_pins_all(w) if w.multi_file else (w.sha256 and actual == w.sha256)) else "local"
        out, lock = store(spec.name, w.tag, state, origin="import", original=str(path.resolve()), original_format=used,
                          original_sha256=actual, pinned_by=pinned)
        return Imported(out, lock, True)


def import_file(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None) -> tuple[Path, Lock]:
    """import_entry's (path, lock)."""
    done = import_entry(spec, w, path, fmt)
    return done.path, done.lock


def _import_formats(spec: ModelSpec, w: WeightsSpec, guessed: str, registry: Any = None) -> list[str]:
    """Formats to try for an imported file: the spec's own original format if it reads that kind of file, then the generic one."""
    out = []
    kinds = {"safetensors": "safetensors", "pytorch": "pytorch", "darknet": "darknet"}
    for entry in [w, *spec.weights]:
        if entry.format not in out and (entry.format.split("-")[0] == guessed or entry.format == guessed
                                        or kinds.get(guessed) == entry.format):
            out.append(entry.format)
    if guessed not in out:
        out.append(guessed)
    from zoo.plugin_manager import default_registry

    reg = default_registry() if registry is None else registry
    for c in reg.converters():  # the model's own family's layouts of that file kind, e.g. "pytorch-torchvision"
        if c.format.startswith(guessed + "-") and c.format not in out and c.source == spec.family:
            out.append(c.format)
    return out
