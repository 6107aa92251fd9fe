"""Converters: original checkpoint files -> state dicts in the zoo's layout (then safetensors in the cache).

`convert_file` runs one registered converter and checks its result against the model; `convert_any` tries
the formats that can read a local file; `convert_to_cache` and `import_file` check an original's hash,
convert it and store it (zoo.cache). Downloading is zoo.sources' job. The model's expected state dict (keys
and shapes the result must fit) is given by the caller, as the dict or a zero-arg callable building it on
the meta device: only the layers above (zoo.api, the CLI) can build a net, and nothing here imports them.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.cache import Lock, store
from zoo.errors import ConversionError, WeightsFileNotFoundError, WeightsMismatchError
from zoo.fsutil import sha256_file
from zoo.spec import ModelSpec, WeightsSpec

ExpectedState = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


def expected_of(expected: ExpectedState) -> Mapping[str, Any]:
    """The model's state dict from what a caller gave: the dict itself, or a zero-arg callable building it."""
    return expected() if callable(expected) else expected


def convert_file(spec: ModelSpec, path: Path, fmt: str, registry: Any = None, *,
                 expected: ExpectedState) -> dict[str, Any]:
    """Run the converter registered for `fmt` and check the result against the model's keys and shapes
    (`expected`: the model's state dict, or a callable building it once); converters that take a third
    argument get its {key: shape} so they need not build it."""
    from zoo.plugin_manager import default_registry
    from zoo.refs import resolve_ref
    from zoo.weights import check_state_dict

    registry = default_registry() if registry is None else registry
    conv = registry.converter(fmt)
    if conv is None:
        known = ", ".join(c.format for c in registry.converters())
        raise ConversionError(f"no converter for format '{fmt}' (known: {known})")
    fn = resolve_ref(conv.fn, "converter")
    expected = expected_of(expected)
    target = {k: v.shape for k, v in expected.items()}
    takes_target = len(inspect.signature(fn).parameters) >= 3
    state = fn(path, spec, target) if takes_target else fn(path, spec)
    state = strip_model_prefix(state, target)
    check_state_dict(expected, state, f"{path.name} (format {fmt})")
    return state


def strip_model_prefix(state: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """A ZooModel's own state_dict() names the network's tensors `net.<key>`; the zoo layout is the network's
    keys, so such a file (torch.save(model.state_dict())) imports like any other."""
    if state and target and all(k.startswith("net.") for k in state) and not any(k.startswith("net.") for k in target):
        return {k[len("net."):]: v for k, v in state.items()}
    return state


def original_sha256(w: WeightsSpec, path: Path) -> str:
    """sha256 of an original file; for a multi-file entry, of its manifest ("<sha256>  <name>" lines in the
    registry's order) after each file is checked against its own registry sha256."""
    if not w.multi_file:
        return sha256_file(path)
    if not path.is_dir():
        raise WeightsFileNotFoundError(f"{path}: {w.tag} weights are {len(w.files)} files "
                                       f"({', '.join(f.filename for f in w.files)}): give the folder holding them")
    lines = []
    for f in w.files:
        one = path / Path(f.filename).name
        if not one.is_file():
            raise WeightsFileNotFoundError(f"{path}: {Path(f.filename).name} is missing (the weights are "
                                           f"{', '.join(Path(x.filename).name for x in w.files)})")
        digest = sha256_file(one)
        if f.sha256 and digest != f.sha256:
            raise WeightsMismatchError(f"{one}: sha256 mismatch: expected {f.sha256}, got {digest}")
        lines.append(f"{digest}  {Path(f.filename).name}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def convert_to_cache(spec: ModelSpec, w: WeightsSpec, original: Path, fmt: str, origin: str, origin_text: str,
                     expected_sha256: str | None, pinned_by: str, *, expected: ExpectedState) -> Path:
    """Check the original's hash (`expected_sha256`, pinned by `pinned_by`: registry, hub-etag, first-use;
    None for a first download, whose hash is then recorded), convert it, check it fits the model, and store
    safetensors + lock."""
    actual = original_sha256(w, original)
    if expected_sha256 and actual != expected_sha256:
        raise WeightsMismatchError(f"{original.name}: sha256 mismatch for {spec.name}.{w.tag}: "
                                   f"expected {expected_sha256}, got {actual} ({pinned_by})")
    state = convert_file(spec, original, fmt, expected=expected)
    out, _ = store(spec.name, w.tag, state, origin=origin, original=origin_text, original_format=fmt,
                   original_sha256=actual, pinned_by=pinned_by)
    return out


def convert_any(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None,
                registry: Any = None, *, expected: ExpectedState) -> tuple[dict[str, Any], str]:
    """Convert a local checkpoint, trying the formats that can read it; errors list every attempt."""
    from zoo.convert.formats import check_importable, check_kind, guess_format

    if w.multi_file:
        original_sha256(w, path)  # every file present, and each matching its registry sha256
        candidates = [fmt or w.format]
    elif not path.is_file():
        raise WeightsFileNotFoundError(f"{path}: no such file" if not path.is_dir()
                                       else f"{path}: a folder, not a weights file")
    else:
        # a file no reader of this model can take (Darknet weights for a ResNet, a text file) says what it is
        if fmt:
            check_kind(path, fmt)
        else:
            check_importable(path, [w.format, *(x.format for x in spec.weights), "pytorch", "safetensors"])
        candidates = [fmt] if fmt else _import_formats(spec, w, guess_format(path), registry)
    state = expected_of(expected)  # built once for every format tried
    errors = []
    for f in candidates:
        try:
            return convert_file(spec, path, f, registry, expected=state), f
        except (ConversionError, WeightsMismatchError) as e:
            errors.append(f"as {f}: {e}")
    reasons = [e.split(": ", 1)[1] for e in errors]
    if len(set(reasons)) == 1:  # every reader failed the same way: the file itself is unreadable
        raise ConversionError(f"{reasons[0]} (tried as {', '.join(candidates)})")
    raise ConversionError(f"{path}: could not be read for {spec.name}: " + " | ".join(errors))


VERIFIED = ("registry", "hub-etag")  # lock pins that checked the original against a published hash


@dataclass(frozen=True)
class Imported:
    """What `zoo import` did: the cached file, its lock, and whether this call converted (False: the same
    original was already in the cache, e.g. converted by a concurrent import, and is reused)."""

    path: Path
    lock: Lock
    converted: bool
    original_sha256: str = ""  # of the file given (the lock's differs when the same tensors came from another file)


def import_entry(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None,
                 force: bool = False, *, expected: ExpectedState) -> Imported:
    """`zoo import`: a local original checkpoint through the same converters and checks as a download, under
    the entry's lock; an entry already converted from a file with the same sha256 (and intact) is reused.

    Cached weights whose original was checked against the registry (or the Hub) are not silently replaced by
    an unverified file: the same tensors keep the verified entry; other tensors need `force`."""
    from zoo.cache import check_cached, entry_lock, lock_of
    from zoo.errors import InputError
    from zoo.paths import weights_dir

    if not path.exists():
        raise WeightsFileNotFoundError(f"{path}: no such file")
    if path.is_dir() and not w.multi_file:
        raise WeightsFileNotFoundError(f"{path}: a folder, not a weights file")
    actual = original_sha256(w, path)
    with entry_lock(spec.name, w.tag):
        folder = weights_dir(spec.name, w.tag)
        cached = folder / "model.safetensors"
        existing = lock_of(folder) if cached.is_file() else None
        if existing is not None and existing.original_sha256 == actual and (fmt is None or existing.original_format == fmt):
            try:
                check_cached(cached, spec.name, w.tag)
                return Imported(cached, existing, False, actual)
            except WeightsMismatchError:
                pass  # the cached copy is damaged: convert again
        state, used = convert_any(spec, w, path, fmt, expected=expected)
        pinned = "registry" if (w.pinned if w.multi_file else (w.sha256 and actual == w.sha256)) else "local"
        if pinned == "local" and existing is not None and existing.pinned_by in VERIFIED:
            if _same_tensors(state, cached):  # e.g. the zoo's own converted file imported again: nothing to replace
                return Imported(cached, existing, False, actual)
            if not force:
                raise InputError(f"{spec.name}.{w.tag} is cached from the verified original ({existing.pinned_by} "
                                 f"sha256 {existing.original_sha256[:12]}…); {path} holds other weights (sha256 "
                                 f"{actual[:12]}…, not the registry's file): pass --force to replace the verified "
                                 "entry with it")
        out, lock = store(spec.name, w.tag, state, origin="import", original=str(path.resolve()), original_format=used,
                          original_sha256=actual, pinned_by=pinned)
        return Imported(out, lock, True, actual)


def import_file(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None,
                force: bool = False, *, expected: ExpectedState) -> tuple[Path, Lock]:
    """import_entry's (path, lock)."""
    done = import_entry(spec, w, path, fmt, force, expected=expected)
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


def _same_tensors(state: dict[str, Any], cached: Path) -> bool:
    """Whether `state` holds exactly the tensors of a cached safetensors file (names, dtypes, values)."""
    import torch

    from zoo.weights import read_safetensors

    try:
        old = read_safetensors(cached)
    except Exception:  # an unreadable cache file is not "the same"
        return False
    return old.keys() == state.keys() and all(
        old[k].dtype == state[k].dtype and old[k].shape == state[k].shape and torch.equal(old[k], state[k].cpu())
        for k in old)


def converted_from(path: Path) -> str | None:
    """The `original_sha256` a zoo-written safetensors file records in its metadata (None for other files)."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as fh:
            return (fh.metadata() or {}).get("original_sha256")
    except Exception:
        return None
