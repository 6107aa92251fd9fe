"""Fetching original weights from the Hugging Face Hub: at a pinned revision, from huggingface_hub's own
cache when the file is there (weights a user already has from other tools are found without a download),
failing fast offline, and telling apart what went wrong (no access, not found, disk full, no network).

`download` is the whole path for one registry entry: fetch, check the Hub's and the registry's sha256 and
size, then hand the file to zoo.convert, which converts it and stores safetensors + lock in zoo.cache.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from zoo.cache import cached_weights, entry_lock
from zoo.convert import convert_to_cache, original_sha256, registry_pins_all
from zoo.errors import (
    OfflineError,
    WeightsAccessError,
    WeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
    ZooError,
    disk_error,
    first_line,
)
from zoo.paths import hub_cache_dir
from zoo.settings import is_offline
from zoo.spec import ModelSpec, WeightsSpec

CONNECT_TIMEOUT_S = 1.0


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


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status of a huggingface_hub error, if it carries a response."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def download_error(spec: ModelSpec, w: WeightsSpec, exc: BaseException) -> ZooError:
    """What a failed Hub download means for the user, as one zoo error: no access (401/403) names the repo
    and HF_TOKEN; a missing repo, revision or file (404) is WeightsNotFoundError; a full or read-only disk
    names the folder; anything else keeps the Hub's first line."""
    what = f"{spec.name}.{w.tag}: {w.repo_id}/{w.filename}@{w.revision}"
    status = _status_of(exc)
    if status in (401, 403):
        return WeightsAccessError(f"{what}: the Hub refused access (HTTP {status}); the repo is private, gated or gone, "
                                  "or your token lacks access: accept its terms on the Hub and set HF_TOKEN "
                                  "(or run 'hf auth login')")
    if status == 404 or type(exc).__name__ in ("RepositoryNotFoundError", "RevisionNotFoundError",
                                                "EntryNotFoundError", "RemoteEntryNotFoundError"):
        return WeightsNotFoundError(f"{what}: not found on the Hub ({first_line(exc)})")
    if isinstance(exc, OSError) and status is None:
        err = disk_error(exc, hub_cache_dir() or "the Hugging Face cache",
                         "set HF_HUB_CACHE (originals) and ZOO_HOME (converted weights) to a folder with room")
        if err is not None:
            return err
    return WeightsError(f"{what}: download failed: {first_line(exc)}")


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
    except Exception as e:  # the Hub's many error types become the zoo's few
        raise download_error(spec, w, e) from None
    etag = (meta.etag or "").strip('"')
    return path, etag if len(etag) == 64 else None


def _fetch_files(spec: ModelSpec, w: WeightsSpec) -> Path:
    """Every file of a multi-file entry (each checked against its sha256); the folder holding them."""
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
    try:
        with entry_lock(spec.name, w.tag):  # one process fetches and converts; the others wait, then reuse it
            again = cached_weights(spec, w)
            if again is not None and not force:
                return again
            return _download_locked(spec, w)
    except OfflineError:
        if cached is None:
            raise
        # --force offline: the weights ARE cached; say that, and that they stay (not "not cached")
        why = "the zoo is offline" if is_offline() else f"{_endpoint()} cannot be reached"
        raise OfflineError(f"{spec.name}.{w.tag}: --force fetches the original again, but {why}; the cached "
                           f"weights ({cached}) are kept and still used") from None


def _download_locked(spec: ModelSpec, w: WeightsSpec) -> Path:
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
