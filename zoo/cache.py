"""The zoo's weights cache: converted safetensors plus a lock file per entry, and what reads them back
(cache look-up, verification, listing, removal). Nothing here downloads or converts: zoo.hub fetches,
zoo.convert converts, and both hand their state dict to `store`. No torch import at module level
(`zoo list` looks up the cache)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoo.fsutil import sha256_file, write_text_atomic
from zoo.paths import LOCK_FILE, WEIGHTS_FILE, weights_dir, zoo_home
from zoo.spec import ModelSpec, WeightsSpec


@dataclass(frozen=True)
class Lock:
    """What lock.json records for one cached weights entry (written once, complete, by `store`)."""

    model: str
    tag: str
    origin: str  # "hub", "import" or "composed"
    original: str  # repo_id/filename@revision, the imported file's path, or the composed sources
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
    """The cached safetensors of (spec, w), or None (a file-system look-up only)."""
    path = weights_dir(spec.name, w.tag) / WEIGHTS_FILE
    return path if path.is_file() else None


def store(name: str, tag: str, state: dict[str, Any], *, origin: str, original: str, original_format: str,
          original_sha256: str, pinned_by: str, metadata: dict[str, str] | None = None) -> tuple[Path, Lock]:
    """Write converted weights and their complete lock file into the cache, each atomically.

    The lock is built once the safetensors file exists (its hash and size are part of it), so no caller
    ever holds a half-filled Lock. A full or read-only disk is one line naming the folder and ZOO_HOME."""
    from zoo.weights import save_safetensors

    folder = weights_dir(name, tag)
    out = folder / WEIGHTS_FILE
    try:
        save_safetensors(state, out, metadata={"model": name, "tag": tag, "original_sha256": original_sha256,
                                               **(metadata or {})})
        lock = Lock(name, tag, origin, original, original_format, original_sha256, pinned_by, sha256_file(out),
                    out.stat().st_size, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        lock.write(folder)
    except OSError as e:
        from zoo.errors import disk_error

        err = disk_error(e, folder, "set ZOO_HOME to a folder with room")
        if err is None:
            raise
        raise err from None
    return out, lock


@dataclass
class VerifyRow:
    model: str
    tag: str
    status: str  # ok | modified | missing | no-lock
    pinned_by: str
    detail: str


def verify(spec: ModelSpec, w: WeightsSpec) -> VerifyRow:
    """Re-hash a cached entry against its lock file and the registry."""
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
    """Every cached weights entry under ZOO_HOME, sorted by path."""
    root = zoo_home() / "weights"
    out = []
    for path in sorted(root.glob(f"*/*/{WEIGHTS_FILE}")):
        lock = Lock.read(path.parent)
        out.append(CacheEntry(path.parent.parent.name, path.parent.name, str(path), path.stat().st_size,
                              lock.original if lock else "?"))
    return out


def cache_remove(name: str, tag: str | None = None) -> list[str]:
    """Remove one entry (name, tag) or every entry of a model; returns the folders removed."""
    root = zoo_home() / "weights" / name
    targets = [root / tag] if tag else ([root] if root.exists() else [])
    removed = []
    for t in targets:
        if t.exists():
            shutil.rmtree(t)
            removed.append(str(t))
    return removed
