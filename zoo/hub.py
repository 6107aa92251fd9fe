"""Weights on the Hugging Face Hub and in the zoo cache: fetch at a pinned revision, check sha256,
convert to safetensors, write atomically, and fail fast offline.

Cache layout (ZOO_HOME, default: the user cache dir):
  weights/<model>/<tag>/model.safetensors   the converted weights the zoo loads
  weights/<model>/<tag>/lock.json           where they came from and how they were pinned
Originals are fetched through huggingface_hub into its own cache (HF_HUB_CACHE), so weights a user
already has from other tools are found without a download.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from zoo.errors import ConversionError, OfflineError, WeightsMismatchError, WeightsNotFoundError, ZooError
from zoo.fsutil import write_text_atomic
from zoo.spec import ModelSpec, WeightsSpec

TRUTHY = {"1", "true", "yes", "on"}
CONNECT_TIMEOUT_S = 1.0
WEIGHTS_FILE = "model.safetensors"
LOCK_FILE = "lock.json"


def zoo_home() -> Path:
    env = os.environ.get("ZOO_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cvzoo"))


def weights_dir(name: str, tag: str) -> Path:
    return zoo_home() / "weights" / name / tag


def is_offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in TRUTHY for v in ("ZOO_OFFLINE", "HF_HUB_OFFLINE"))


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class Lock:
    """What lock.json records for one cached weights entry."""

    model: str
    tag: str
    origin: str  # "hub" or "import"
    original: str  # repo_id/filename@revision, or the imported file's path
    original_format: str
    original_sha256: str
    pinned_by: str  # "registry" (sha256 in registry.yaml), "hub-etag" (Hub LFS sha256), "local" (hash taken here)
    safetensors_sha256: str
    size: int
    created: str

    def write(self, folder: Path) -> None:
        write_text_atomic(folder / LOCK_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> Lock | None:
        try:
            data = json.loads((folder / LOCK_FILE).read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


def cached_weights(spec: ModelSpec, w: WeightsSpec) -> Path | None:
    path = weights_dir(spec.name, w.tag) / WEIGHTS_FILE
    return path if path.is_file() else None


# ------------------------------------------------------------------ fetching originals

def _fix_hint(spec: ModelSpec, w: WeightsSpec) -> str:
    local = Path(w.filename or "FILE").name
    return (f"run 'zoo download {spec.name}.{w.tag}' with network access, or 'zoo import {spec.name}.{w.tag} {local}' "
            "with a copy of the file")


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def _reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """A TCP connect to the Hub endpoint: the one-second check that keeps offline failures fast."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_cache_dir() -> str | None:
    """The Hub cache folder, read at call time (huggingface_hub reads its env vars once, at import)."""
    return os.environ.get("HF_HUB_CACHE") or (os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None)


def _hub_cached(w: WeightsSpec) -> Path | None:
    """The file in the local Hub cache, by filesystem look-up only (hf_hub_download may touch the network
    even with local_files_only=True)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(w.repo_id, w.filename, cache_dir=hub_cache_dir(), revision=w.revision,
                                   repo_type=w.repo_type)
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def _etag_of_cached(path: Path) -> str | None:
    """In the Hub cache a snapshot file links to blobs/<etag>; for LFS files the etag is the sha256."""
    target = Path(os.path.realpath(path)).name
    return target if len(target) == 64 and all(c in "0123456789abcdef" for c in target) else None


def fetch_original(spec: ModelSpec, w: WeightsSpec) -> tuple[Path, str | None]:
    """The original file (from the local Hub cache, or downloaded) and the Hub's sha256 for it if known."""
    if not w.obtainable:
        raise WeightsNotFoundError(f"{spec.name}: no pretrained weights are published for tag '{w.tag}'")
    local = _hub_cached(w)
    if local is not None:
        return local, _etag_of_cached(local)
    if is_offline():
        raise OfflineError(f"{spec.name}.{w.tag}: weights are not cached and the zoo is offline; {_fix_hint(spec, w)}")
    if not _reachable(_endpoint()):
        raise OfflineError(f"{spec.name}.{w.tag}: cannot reach {_endpoint()} (no network?); {_fix_hint(spec, w)}")
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    try:
        url = hf_hub_url(w.repo_id, w.filename, revision=w.revision, repo_type=w.repo_type)
        meta = get_hf_file_metadata(url, timeout=10)
        path = Path(hf_hub_download(w.repo_id, w.filename, revision=w.revision, repo_type=w.repo_type,
                                    etag_timeout=10, cache_dir=hub_cache_dir()))
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsNotFoundError(f"{spec.name}.{w.tag}: download of {w.repo_id}/{w.filename}@{w.revision} failed: {first}") from None
    etag = (meta.etag or "").strip('"')
    return path, etag if len(etag) == 64 else None


# ------------------------------------------------------------------ converting into the cache

def convert_to_cache(spec: ModelSpec, w: WeightsSpec, original: Path, fmt: str, origin: str, origin_text: str,
                     expected_sha256: str | None, pinned_by: str) -> Path:
    """Check the original's hash, convert it, check it fits the model, and store safetensors + lock."""
    actual = original_sha256(w, original)
    if expected_sha256 and actual != expected_sha256:
        raise WeightsMismatchError(f"{original.name}: sha256 mismatch for {spec.name}.{w.tag}: "
                                   f"expected {expected_sha256}, got {actual} ({pinned_by})")
    state = convert_file(spec, original, fmt)
    return store(spec, w, state, Lock(spec.name, w.tag, origin, origin_text, fmt, actual,
                                      pinned_by if expected_sha256 else "local", "", 0, ""))


def store(spec: ModelSpec, w: WeightsSpec, state: dict[str, Any], lock: Lock) -> Path:
    """Write converted weights and their lock file into the cache, each atomically."""
    from zoo.weights import save_safetensors

    folder = weights_dir(spec.name, w.tag)
    out = folder / WEIGHTS_FILE
    save_safetensors(state, out, metadata={"model": spec.name, "tag": w.tag, "original_sha256": lock.original_sha256})
    lock.safetensors_sha256 = sha256_file(out)
    lock.size = out.stat().st_size
    lock.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lock.write(folder)
    return out


def convert_file(spec: ModelSpec, path: Path, fmt: str, registry: Any = None) -> dict[str, Any]:
    """Run the converter registered for `fmt` and check the result against the model's keys and shapes.

    The model is built once, on the meta device; converters that take a third argument get its
    {key: shape} so they need not build it again."""
    import inspect

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
    expected = build(spec, device="meta").net.state_dict()
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


def _fetch_files(spec: ModelSpec, w: WeightsSpec) -> Path:
    """Every file of a multi-file entry (each checked against its sha256); the folder holding them."""
    import dataclasses

    folder: Path | None = None
    for f in w.files:
        one = dataclasses.replace(w, filename=f"{w.filename}/{f.filename}" if w.filename else f.filename,
                                  sha256=f.sha256, files=())
        path, _ = fetch_original(spec, one)
        folder = path.parent
    assert folder is not None
    return folder


def download(spec: ModelSpec, w: WeightsSpec, force: bool = False) -> Path:
    """The cached safetensors for (spec, w), fetching and converting the original if needed."""
    cached = cached_weights(spec, w)
    if cached is not None and not force:
        return cached
    if w.multi_file:
        folder = _fetch_files(spec, w)
        pinned = "registry" if registry_pins_all(w) else "local"
        return convert_to_cache(spec, w, folder, w.format, "hub", f"{w.repo_id}/{w.filename or ''}@{w.revision}",
                                original_sha256(w, folder), pinned)
    original, hub_sha = fetch_original(spec, w)
    expected = w.sha256 or hub_sha
    pinned_by = "registry" if w.sha256 else "hub-etag"
    if w.sha256 and hub_sha and hub_sha != w.sha256:
        raise WeightsMismatchError(f"{original.name}: the Hub's sha256 {hub_sha} differs from the registry's {w.sha256} "
                                   f"for {spec.name}.{w.tag} (revision {w.revision})")
    if w.size is not None and original.stat().st_size != w.size:
        raise WeightsMismatchError(f"{original.name}: size {original.stat().st_size} bytes, registry says {w.size}")
    return convert_to_cache(spec, w, original, w.format, "hub", f"{w.repo_id}/{w.filename}@{w.revision}",
                            expected, pinned_by)


def convert_any(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None,
                registry: Any = None) -> tuple[dict[str, Any], str]:
    """Convert a local checkpoint, trying the formats that can read it; errors list every attempt."""
    from zoo.convert.formats import guess_format

    if w.multi_file:
        original_sha256(w, path)  # every file present, and each matching its registry sha256
        candidates = [fmt or w.format]
    elif not path.is_file():
        raise ZooError(f"{path}: no such file" if not path.is_dir() else f"{path}: a folder, not a weights file")
    else:
        candidates = [fmt] if fmt else _import_formats(spec, w, guess_format(path))
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


def import_file(spec: ModelSpec, w: WeightsSpec, path: Path, fmt: str | None = None) -> tuple[Path, Lock]:
    """`zoo import`: a local original checkpoint through the same converters and checks as a download."""
    state, used = convert_any(spec, w, path, fmt)
    actual = original_sha256(w, path)
    pinned = "registry" if (registry_pins_all(w) if w.multi_file else (w.sha256 and actual == w.sha256)) else "local"
    out = store(spec, w, state, Lock(spec.name, w.tag, "import", str(path.resolve()), used, actual, pinned, "", 0, ""))
    lock = Lock.read(out.parent)
    assert lock is not None
    return out, lock


def _import_formats(spec: ModelSpec, w: WeightsSpec, guessed: str) -> list[str]:
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

    reg = default_registry()
    for c in reg.converters():  # family layouts of the same file kind, e.g. "pytorch-torchvision"
        if c.format.startswith(guessed + "-") and c.format not in out:
            out.append(c.format)
    return out


# ------------------------------------------------------------------ verify and cache listing

@dataclass
class VerifyRow:
    model: str
    tag: str
    status: str  # ok | modified | missing | no-lock
    pinned_by: str
    detail: str


def verify(spec: ModelSpec, w: WeightsSpec) -> VerifyRow:
    folder = weights_dir(spec.name, w.tag)
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        return VerifyRow(spec.name, w.tag, "missing", "", "not in the cache")
    lock = Lock.read(folder)
    if lock is None:
        return VerifyRow(spec.name, w.tag, "no-lock", "", f"{LOCK_FILE} missing or unreadable")
    actual = sha256_file(path)
    if actual != lock.safetensors_sha256:
        return VerifyRow(spec.name, w.tag, "modified", lock.pinned_by,
                         f"{WEIGHTS_FILE} sha256 {actual} != recorded {lock.safetensors_sha256}")
    if w.sha256 and lock.original_sha256 != w.sha256:
        return VerifyRow(spec.name, w.tag, "ok", lock.pinned_by,
                         f"converted from {lock.original} (sha256 {lock.original_sha256[:12]}…, not the registry's file)")
    how = {"registry": "original matches the registry's sha256", "hub-etag": "original matched the Hub's LFS sha256",
           "local": "hash recorded locally only"}.get(lock.pinned_by, lock.pinned_by)
    return VerifyRow(spec.name, w.tag, "ok", lock.pinned_by, how)


@dataclass
class CacheEntry:
    model: str
    tag: str
    path: str
    size: int
    origin: str


def cache_entries() -> list[CacheEntry]:
    root = zoo_home() / "weights"
    out = []
    for path in sorted(root.glob(f"*/*/{WEIGHTS_FILE}")):
        lock = Lock.read(path.parent)
        out.append(CacheEntry(path.parent.parent.name, path.parent.name, str(path), path.stat().st_size,
                              lock.original if lock else "?"))
    return out


def cache_remove(name: str, tag: str | None = None) -> list[str]:
    root = zoo_home() / "weights" / name
    targets = [root / tag] if tag else ([root] if root.exists() else [])
    removed = []
    for t in targets:
        if t.exists():
            shutil.rmtree(t)
            removed.append(str(t))
    return removed
