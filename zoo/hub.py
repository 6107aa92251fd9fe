"""The Hugging Face Hub specifics of fetching weights: a file at a pinned revision, from huggingface_hub's own
cache when it is there (weights a user already has from other tools are found without a download), failing
fast offline, and telling apart what went wrong (no access, not found, disk full, no network). `HF_ENDPOINT`
points it at a mirror.

Which source to try, checking, converting and caching are zoo.sources' job.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import quote, urlparse

from zoo.errors import (
    OfflineError,
    WeightsAccessError,
    WeightsError,
    WeightsNotFoundError,
    ZooError,
    disk_error,
    first_line,
)
from zoo.paths import hub_cache_dir
from zoo.settings import is_offline
from zoo.spec import HubSource

CONNECT_TIMEOUT_S = 1.0
DEFAULT_ENDPOINT = "https://huggingface.co"  # huggingface_hub's default; HF_ENDPOINT replaces it


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def _reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """A TCP connect to the Hub endpoint: the one-second check that keeps offline failures fast."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_url(src: HubSource, filename: str) -> str:
    """The file's resolve URL at the pinned revision, on HF_ENDPOINT (what huggingface_hub fetches)."""
    kind = "" if src.repo_type == "model" else f"{src.repo_type}s/"
    return f"{_endpoint()}/{kind}{src.repo_id}/resolve/{quote(src.revision, safe='')}/{quote(filename)}"


def short(src: HubSource) -> str:
    """repo@commit as a person reads it ("lllyasviel/Annotators@982e7ed")."""
    kind = "" if src.repo_type == "model" else f"{src.repo_type}s/"
    rev = src.revision[:7] if len(src.revision) == 40 else src.revision
    return f"{kind}{src.repo_id}@{rev}"


def _hub_cached(src: HubSource, filename: str) -> Path | None:
    """The file in the local Hub cache, by filesystem look-up only (hf_hub_download may touch the network
    even with local_files_only=True)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(src.repo_id, filename, cache_dir=hub_cache_dir(), revision=src.revision,
                                   repo_type=src.repo_type)
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def _etag_of_cached(path: Path) -> str | None:
    """In the Hub cache a snapshot file links to blobs/<etag>; for LFS files the etag is the sha256."""
    target = Path(os.path.realpath(path)).name
    return target if len(target) == 64 and all(c in "0123456789abcdef" for c in target) else None


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status of a huggingface_hub error, if it carries a response."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def download_error(what: str, exc: BaseException) -> ZooError:
    """What a failed Hub download means for the user, as one zoo error: no access (401/403) names the repo
    and HF_TOKEN; a missing repo, revision or file (404) is WeightsNotFoundError; a full or read-only disk
    names the folder; anything else keeps the Hub's first line."""
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


def fetch_hub_file(src: HubSource, filename: str, label: str) -> tuple[Path, str | None]:
    """One file of a Hub source (from the local Hub cache, or downloaded) and the Hub's sha256 for it if known
    (its LFS etag). `label` ("model.tag") starts every error line."""
    local = _hub_cached(src, filename)
    if local is not None:
        return local, _etag_of_cached(local)
    what = f"{label}: {src.repo_id}/{filename}@{src.revision}"
    if is_offline():
        raise OfflineError(f"{what}: not in the Hub cache and the zoo is offline")
    if not _reachable(_endpoint()):
        raise OfflineError(f"{what}: cannot reach {_endpoint()} (no network?)")
    from huggingface_hub import get_hf_file_metadata, hf_hub_download

    try:
        meta = get_hf_file_metadata(hub_url(src, filename), timeout=10)
        path = Path(hf_hub_download(src.repo_id, filename, revision=src.revision, repo_type=src.repo_type,
                                    etag_timeout=10, cache_dir=hub_cache_dir(), endpoint=_endpoint()))
    except Exception as e:  # the Hub's many error types become the zoo's few
        raise download_error(what, e) from None
    etag = (meta.etag or "").strip('"')
    return path, etag if len(etag) == 64 else None
