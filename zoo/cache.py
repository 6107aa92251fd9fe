"""The zoo's weights cache: converted safetensors plus a lock file per entry, and what reads them back
(cache look-up, verification, listing, removal). Nothing here downloads or converts: zoo.sources fetches,
zoo.convert converts and hands its state dict to `store`. No torch import at module level
(`zoo list` looks up the cache)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoo.errors import StorageError, WeightsMismatchError, disk_error
from zoo.fsutil import replace_folder, sha256_file, write_json_atomic, write_text_atomic
from zoo.paths import LOCK_FILE, WEIGHTS_FILE, safe_part, weights_dir, weights_root, zoo_home
from zoo.settings import verify_mode
from zoo.spec import ModelSpec, WeightsSpec

STAMP_FILE = ".verified.json"  # (size, mtime_ns, inode) of model.safetensors when its sha256 last matched the lock
LOCK_WAIT_S = 600.0  # how long a second writer waits for the first one (a large download and conversion)


@dataclass(frozen=True)
class Lock:
    """What lock.json records for one cached weights entry (written once, complete, by `store`)."""

    model: str
    tag: str
    origin: str  # the source kind ("hub", "url", "torchvision"), "import", "composed" or "rebuilt"
    original: str  # repo_id/filename@revision, the URL, the imported file's path, or the composed sources
    original_format: str
    original_sha256: str
    # "registry" (sha256 in registry.yaml), "hub-etag" (Hub LFS sha256), "first-use" (no published hash: the
    # first download's, enforced on later downloads), "local" (hash taken here of an imported file)
    pinned_by: str
    safetensors_sha256: str
    size: int
    created: str

    def write(self, folder: Path) -> None:
        write_text_atomic(folder / LOCK_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> Lock | None:
        """The lock file, or None when it is missing, torn or not a lock (every field a string or int)."""
        try:
            data = json.loads((folder / LOCK_FILE).read_text())
            lock = cls(**data)
        except (OSError, ValueError, TypeError):
            return None
        if not all(isinstance(getattr(lock, f), int if f == "size" else str) for f in asdict(lock)):
            return None
        return lock


def rebuild_lock(folder: Path) -> Lock | None:
    """A lock rebuilt from model.safetensors itself when lock.json is missing, torn or invalid (a write killed
    between the two files, a truncated disk): the file's own metadata (model, tag, original_sha256) and its
    hash now. Written back when the folder is writable. None when the weights file is gone or unreadable."""
    from zoo.weights import check_safetensors_header

    path = folder / WEIGHTS_FILE
    try:
        meta = check_safetensors_header(path).get("__metadata__") or {}
        lock = Lock(str(meta.get("model", folder.parent.name)), str(meta.get("tag", folder.name)), "rebuilt",
                    f"{LOCK_FILE} rebuilt from {WEIGHTS_FILE}", "safetensors", str(meta.get("original_sha256", "")),
                    "local", sha256_file(path), path.stat().st_size, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    except (OSError, WeightsMismatchError):
        return None
    with contextlib.suppress(OSError):
        lock.write(folder)
    return lock


def lock_of(folder: Path) -> Lock | None:
    """The entry's lock, rebuilt from the files when it is torn (never a crash, never a half-read lock)."""
    return Lock.read(folder) or ((folder / WEIGHTS_FILE).is_file() and rebuild_lock(folder)) or None


@contextlib.contextmanager
def entry_lock(name: str, tag: str, timeout: float = LOCK_WAIT_S) -> Iterator[None]:
    """Exclusive, cross-process: one process downloads, imports or converts an entry, the others wait and
    then reuse its result (the filelock package, as huggingface_hub uses). The lock file sits beside the
    entry's folder, so removing the entry never removes a lock someone holds."""
    from filelock import FileLock, Timeout

    folder = weights_dir(name, tag)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder.parent / f".{tag}.lock"), is_singleton=True)  # re-entrant within a process
        lock.acquire(timeout=timeout)
    except Timeout:
        raise StorageError(f"{name}.{tag}: another process has held the cache lock for {timeout:g} s; "
                           f"is a download stuck? (lock file {folder.parent / f'.{tag}.lock'})") from None
    except OSError as e:
        raise _storage(e, folder) from None
    try:
        yield
    finally:
        lock.release()


def _storage(e: OSError, folder: Path) -> Exception:
    """A full, read-only or unwritable cache as one line naming the folder and ZOO_HOME; other errors as they are."""
    return disk_error(e, folder, f"set ZOO_HOME (now {zoo_home()}) to a writable folder with room") or e


# ------------------------------------------------------------------ verified loads

def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _write_stamp(folder: Path, sha: str, key: list[int]) -> None:
    """Remember that the file with this (size, mtime_ns, inode) hashed to `sha` (best effort: a read-only
    cache just hashes again next time)."""
    with contextlib.suppress(OSError):
        write_json_atomic(folder / STAMP_FILE, {"sha256": sha, "stat": key})


def check_cached(path: Path, name: str, tag: str) -> str:
    """Refuse a cached file whose sha256 is not the lock's; returns how it was checked ("hashed",
    "stat unchanged" or "not verified (ZOO_VERIFY=never)"). The re-hash is skipped in auto mode when the
    file's (size, mtime_ns, inode) are those recorded when it last matched."""
    mode = verify_mode()
    if mode == "never":
        return "not verified (ZOO_VERIFY=never)"
    folder = path.parent
    lock = lock_of(folder)
    if lock is None:
        raise WeightsMismatchError(f"{path}: unreadable cache entry (no usable {LOCK_FILE} or safetensors header); "
                                   f"{_fix(name, tag, None)}")
    key = _stat_key(path)
    if mode == "auto":
        try:
            stamp = json.loads((folder / STAMP_FILE).read_text())
            if stamp.get("stat") == key and stamp.get("sha256") == lock.safetensors_sha256:
                return "stat unchanged"
        except (OSError, ValueError, AttributeError):
            pass
    actual = sha256_file(path)
    if actual != lock.safetensors_sha256:
        raise WeightsMismatchError(f"{path}: sha256 {actual} does not match {lock.safetensors_sha256} recorded in "
                                   f"{LOCK_FILE}: the cached file changed after it was written; {_fix(name, tag, lock)}")
    _write_stamp(folder, actual, key)
    return "hashed"


def _fix(name: str, tag: str, lock: Lock | None) -> str:
    if lock is not None and lock.origin == "import" and lock.original:
        return f"run 'zoo import {name}.{tag} {lock.original}' to restore it"
    if lock is not None and lock.origin in ("hub", "url", "torchvision"):
        return f"run 'zoo download {name}.{tag} --force' to restore it"
    return f"run 'zoo download {name}.{tag} --force' or 'zoo import {name}.{tag} FILE' to restore it"


def cached_weights(spec: ModelSpec, w: WeightsSpec) -> Path | None:
    """The cached safetensors of (spec, w), or None (a file-system look-up only)."""
    path = weights_dir(spec.name, w.tag) / WEIGHTS_FILE
    return path if path.is_file() else None


def store(name: str, tag: str, state: dict[str, Any], *, origin: str, original: str, original_format: str,
          original_sha256: str, pinned_by: str, metadata: dict[str, str] | None = None) -> tuple[Path, Lock]:
    """Write converted weights and their complete lock file into the cache as one unit.

    Both files are written into a hidden staging folder beside the entry, which then replaces the entry by
    renames: a process killed at any point leaves the entry complete (old or new) or absent, never a
    safetensors file with another file's lock; leftovers are hidden and swept by the next write. Callers
    hold `entry_lock`. A full or read-only disk is one line naming the folder and ZOO_HOME, and the
    entry stays as it was."""
    from zoo.weights import save_safetensors

    folder = weights_dir(name, tag)
    stage = folder.parent / f".staging-{tag}-{os.getpid()}"
    try:
        _sweep(folder)
        stage.mkdir(parents=True)
        out = stage / WEIGHTS_FILE
        save_safetensors(state, out, metadata={"model": name, "tag": tag, "original_sha256": original_sha256,
                                               **(metadata or {})})
        lock = Lock(name, tag, origin, original, original_format, original_sha256, pinned_by, sha256_file(out),
                    out.stat().st_size, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        lock.write(stage)
        _write_stamp(stage, lock.safetensors_sha256, _stat_key(out))
        replace_folder(stage, folder)
    except BaseException as e:  # an interrupt too: nothing half-written stays behind
        shutil.rmtree(stage, ignore_errors=True)
        err = _storage(e, folder) if isinstance(e, OSError) else e
        if err is e:
            raise
        raise err from None
    return folder / WEIGHTS_FILE, lock


def _sweep(folder: Path) -> None:
    """Remove what killed writers of this entry left behind (staging and trash folders, temp files)."""
    for kind in (".staging-", ".trash-"):
        prefix = f"{kind}{folder.name}-"
        for leftover in folder.parent.glob(prefix + "*"):
            if leftover.name[len(prefix):].isdigit():  # ".staging-a-b-7" belongs to tag "a-b", not "a"
                shutil.rmtree(leftover, ignore_errors=True)
    for tmp in folder.glob(".tmp-*") if folder.is_dir() else []:
        tmp.unlink(missing_ok=True)


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
    rebuilt = lock is None
    lock = lock or rebuild_lock(folder)
    if lock is None:
        return VerifyRow(spec.name, w.tag, "no-lock", "", f"{LOCK_FILE} missing or unreadable and {WEIGHTS_FILE} "
                         "is not a readable safetensors file")
    if rebuilt:
        return VerifyRow(spec.name, w.tag, "ok", lock.pinned_by, f"{LOCK_FILE} was missing or torn: rebuilt from "
                         f"{WEIGHTS_FILE} (its hash is recorded from now on)")
    actual = sha256_file(path)
    if actual != lock.safetensors_sha256:
        return VerifyRow(spec.name, w.tag, "modified", lock.pinned_by,
                         f"{WEIGHTS_FILE} sha256 {actual} != recorded {lock.safetensors_sha256}")
    _write_stamp(folder, actual, _stat_key(path))
    if w.sha256 and lock.original_sha256 != w.sha256:
        return VerifyRow(spec.name, w.tag, "ok", lock.pinned_by,
                         f"converted from {lock.original} (sha256 {lock.original_sha256[:12]}…, not the registry's file)")
    how = {"registry": "original matches the registry's sha256", "hub-etag": "original matched the Hub's LFS sha256",
           "first-use": "hash recorded on first download (no published sha256)",
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
    root = weights_root()
    out = []
    for path in sorted(root.glob(f"*/*/{WEIGHTS_FILE}")):
        if path.parent.name.startswith(".") or path.parent.parent.name.startswith("."):
            continue  # a writer's staging folder, not an entry
        lock = Lock.read(path.parent)
        out.append(CacheEntry(path.parent.parent.name, path.parent.name, str(path), path.stat().st_size,
                              lock.original if lock else "?"))
    return out


def cache_remove(name: str, tag: str | None = None) -> list[str]:
    """Remove one entry (name, tag) or every entry of a model; returns the folders removed. The folders come
    from weights_dir, so they lie inside ZOO_HOME/weights; a symlink there is unlinked, never followed."""
    root = weights_root()
    model_dir = weights_dir(safe_part(name, "model name"), tag) if tag else root / safe_part(name, "model name")
    targets = [model_dir] if tag or model_dir.exists() else []
    removed = []
    for t in targets:
        try:
            if t.is_symlink():
                t.unlink()
            elif t.exists():
                with entry_lock(name, tag) if tag else contextlib.nullcontext():
                    shutil.rmtree(t)
            else:
                continue
        except OSError as e:  # a read-only or foreign cache: one line naming the folder and ZOO_HOME
            raise StorageError(f"cannot remove {t}: {e.strerror or e} (the cache is ZOO_HOME={zoo_home()})") from None
        removed.append(str(t))
    return removed
