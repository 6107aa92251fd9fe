"""Where a weights entry's original bytes come from, and getting them into the cache.

An entry lists sources (zoo.spec: `hub`, `url`, `torchvision`), tried in order. Each is checked against the
entry's one sha256 and size before the converter sees the file; a source that fails (not found, no access,
wrong hash, timeout) is reported in one line and the next is tried. The first that passes is converted and
stored (zoo.convert, zoo.cache). An entry the registry gives no sha256 for is pinned by the Hub's LFS sha256
when it comes from the Hub, else by its first download ("first-use": the hash is recorded in the entry's
lock file and every later download, load and `zoo verify` is held to it).

Originals fetched by URL go to ZOO_HOME/downloads/<model>/<tag>/ (a `.part` file there resumes after a kill)
and are removed once converted; Hub originals stay in huggingface_hub's cache, torchvision's in torch.hub's.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.convert import ExpectedState
from zoo.errors import (
    ConversionError,
    OfflineError,
    StorageError,
    WeightsAccessError,
    WeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
)
from zoo.spec import HubSource, ModelSpec, Source, TorchvisionSource, UrlSource, WeightsFile, WeightsSpec

log = logging.getLogger("zoo.sources")
TORCH_HUB_HASH = re.compile(r"-([a-f0-9]*)\.")  # torch.hub.HASH_REGEX: the sha256 prefix in a checkpoint's name
FIRST_USE = "first-use"  # lock.json's pinned_by for a hash taken from the first download
FIRST_USE_TEXT = "hash recorded on first download"


# ------------------------------------------------------------------ describing sources (no network, no torch)

def label(src: Source) -> str:
    """One source as a person reads it: "hub lllyasviel/Annotators@982e7ed", "url https://...", ..."""
    if isinstance(src, HubSource):
        from zoo.hub import short

        return f"hub {short(src)}" + (f" {src.filename}" if src.filename else "")
    if isinstance(src, UrlSource):
        return f"url {src.url}"
    return f"torchvision {src.weights}"


def kinds(w: WeightsSpec) -> str:
    """The kinds of an entry's sources in order, joined: "hub", "hub+url", "torchvision"; "" for none."""
    return "+".join(dict.fromkeys(s.kind for s in w.all_sources))


def how_pinned(w: WeightsSpec) -> str:
    """How the original is checked, in words for `zoo list` / `zoo info` (no torch import: list stays fast)."""
    srcs = w.all_sources
    if w.pinned:
        return f"sha256 {w.sha256[:12]}…" if w.sha256 else "sha256 of every file"
    pinned_files = [f.filename for f in w.files if f.sha256]
    if pinned_files and srcs:
        return f"sha256 of {', '.join(pinned_files)}; the other files' {FIRST_USE_TEXT}"
    if srcs and all(isinstance(s, HubSource) for s in srcs):
        return "the Hub's LFS sha256 (recorded on download)"
    tv = any(isinstance(s, TorchvisionSource) for s in srcs)
    return FIRST_USE_TEXT + (" (torchvision's file-name prefix checked)" if tv else "") if srcs else ""


def files_of(w: WeightsSpec) -> tuple[WeightsFile, ...]:
    """The files an entry is made of (one, for a single-file entry)."""
    return w.files or (WeightsFile(Path(w.filename or "weights").name, w.sha256, w.size),)


def total_size(w: WeightsSpec) -> int | None:
    sizes = [f.size for f in files_of(w)]
    return sum(sizes) if all(s is not None for s in sizes) else None  # type: ignore[misc]


def torchvision_url(src: TorchvisionSource) -> str:
    """The download URL of a torchvision weights enum member, from the installed torchvision."""
    try:
        from torchvision.models import get_weight

        return str(get_weight(src.weights).url)
    except ImportError:
        raise WeightsError(f"torchvision {src.weights}: torchvision is not installed") from None
    except (ValueError, KeyError, AttributeError) as e:
        raise WeightsNotFoundError(f"torchvision {src.weights}: not a weights enum of the installed torchvision "
                                   f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def hash_prefix(url: str) -> str | None:
    """The sha256 prefix in a torch.hub checkpoint's file name ("...-fc266e95.pth" -> "fc266e95")."""
    m = TORCH_HUB_HASH.search(Path(url.split("?")[0]).name)
    return m.group(1) if m and m.group(1) else None


def resolved_urls(w: WeightsSpec, src: Source) -> list[str]:
    """Every URL a source fetches, after HF_ENDPOINT / ZOO_URL_MIRROR (for `zoo info --json`)."""
    from zoo.urlfetch import mirrored

    if isinstance(src, HubSource):
        from zoo.hub import hub_url

        return [hub_url(src, _hub_name(src, f)) for f in files_of(w)] if w.files else [hub_url(src, src.filename or "")]
    if isinstance(src, UrlSource):
        return [mirrored(src.url + f.filename) for f in w.files] if w.files else [mirrored(src.url)]
    try:
        return [mirrored(torchvision_url(src))]
    except WeightsError as e:
        return [f"? ({e})"]


def describe(w: WeightsSpec) -> list[dict[str, Any]]:
    """Plain data for each source of an entry: kind, label, resolved URLs."""
    return [{"kind": s.kind, "source": label(s), "urls": resolved_urls(w, s)} for s in w.all_sources]


def import_hint(spec: ModelSpec, w: WeightsSpec) -> str:
    """The `zoo import` line for an entry (a folder for a multi-file entry)."""
    return f"'zoo import {spec.name}.{w.tag} {'DIR' if w.files else 'FILE'}'"


def what_instead(spec: ModelSpec, w: WeightsSpec) -> str:
    """The one line said for an entry without a download source: what exists instead (the registry's
    description names training, composing or importing; random init always works)."""
    random = "or use random weights (pretrained=False, --random-init)"
    if not spec.weights:
        why = (spec.notes or "none exist").rstrip(".")
        return (f"{spec.name}: no pretrained weights ({why}); train them, bring a checkpoint with "
                f"'zoo import {spec.name} FILE', {random}")
    desc = w.description.rstrip(".")
    bring = "" if "zoo import" in desc else f"bring a checkpoint with {import_hint(spec, w)}, "
    return f"{spec.name}.{w.tag}: no download source" + (f" ({desc})" if desc else "") + f"; {bring}{random}"


def _where(src: Source) -> str:
    """Where a source is, shortest: "lllyasviel/Annotators@982e7ed", a URL, a torchvision enum member."""
    if isinstance(src, HubSource):
        from zoo.hub import short

        return short(src)
    return src.url if isinstance(src, UrlSource) else f"torchvision {src.weights}"


def offline_message(spec: ModelSpec, w: WeightsSpec) -> str:
    """Offline, said plainly: what would have been fetched, from where, and how much."""
    size = total_size(w)
    where = ", then ".join(_where(s) for s in w.all_sources)
    return (f"{spec.name}.{w.tag}: weights are not cached and the zoo is offline: they would come from {where}"
            + (f", {size / 1e6:.0f} MB" if size else "")
            + f"; unset ZOO_OFFLINE, or bring a copy with {import_hint(spec, w)}")


# ------------------------------------------------------------------ fetching one source

@dataclass(frozen=True)
class Fetched:
    """An original fetched from one source: the path the converter reads (a file, or the folder holding every
    file of a multi-file entry), the sha256 it must have and who says so."""

    path: Path
    expected_sha256: str | None
    pinned_by: str  # registry | hub-etag | first-use
    origin_text: str
    temporary: Path | None = None  # a download folder of ours, removed once the entry is cached


def _hub_name(src: HubSource, f: WeightsFile) -> str:
    return f"{src.filename}/{f.filename}" if src.filename else f.filename


def downloads_dir(spec: ModelSpec, w: WeightsSpec) -> Path:
    from zoo.paths import downloads_dir as folder

    return folder(spec.name, w.tag)


def _fetch_hub(spec: ModelSpec, w: WeightsSpec, src: HubSource, recorded: str | None) -> Fetched:
    from zoo.hub import fetch_hub_file

    where = f"{src.repo_id}/{src.filename or ''}@{src.revision}"
    what = f"{spec.name}.{w.tag}"
    if w.files:
        folder, etags = None, []
        for f in w.files:
            path, etag = fetch_hub_file(src, _hub_name(src, f), what)
            _check_one(path, f, etag, what, hash_now=True)
            folder, etags = path.parent, etags + [etag]
        assert folder is not None
        pinned = "registry" if w.pinned else "hub-etag" if all(etags) and not recorded else FIRST_USE
        return Fetched(folder, recorded, pinned, where)
    path, etag = fetch_hub_file(src, src.filename or "", what)
    _check_one(path, files_of(w)[0], etag, what)
    expected = w.sha256 or recorded or etag
    pinned = "registry" if w.sha256 else FIRST_USE if recorded else "hub-etag" if etag else FIRST_USE
    return Fetched(path, expected, pinned, where)


def _check_one(path: Path, f: WeightsFile, hub_sha: str | None, what: str, hash_now: bool = False) -> None:
    """The Hub's sha256 and the file's size against the registry's, before anything is converted; with
    `hash_now` (a file of a multi-file entry) the bytes themselves against the registry's or the Hub's sha256."""
    from zoo.fsutil import sha256_file

    if f.sha256 and hub_sha and hub_sha != f.sha256:
        raise WeightsMismatchError(f"{what}: {path.name}: the Hub's sha256 {hub_sha} differs from the registry's {f.sha256}")
    if f.size is not None and path.stat().st_size != f.size:
        raise WeightsMismatchError(f"{what}: {path.name}: size {path.stat().st_size} bytes, registry says {f.size}")
    want = f.sha256 or hub_sha
    if hash_now and want and (got := sha256_file(path)) != want:
        raise WeightsMismatchError(f"{what}: {path.name}: sha256 {got}, expected {want}")


def _fetch_url(spec: ModelSpec, w: WeightsSpec, src: UrlSource, recorded: str | None) -> Fetched:
    from zoo.settings import is_offline
    from zoo.urlfetch import fetch_url

    folder = downloads_dir(spec, w)
    what = f"{spec.name}.{w.tag}"
    if is_offline():
        raise OfflineError(f"{what}: {src.url}: the zoo is offline")
    if w.files:
        for f in w.files:
            fetch_url(src.url + f.filename, folder / Path(f.filename).name, sha256=f.sha256, size=f.size,
                      label=f"{what} {Path(f.filename).name}")
        return Fetched(folder, recorded, "registry" if w.pinned else FIRST_USE, src.url, folder)
    name = Path(src.url.split("?")[0]).name or "weights"
    sha = w.sha256 or recorded
    fetch_url(src.url, folder / name, sha256=sha, size=w.size, label=f"{what} {name}")
    return Fetched(folder / name, sha, "registry" if w.sha256 else FIRST_USE, src.url, folder)


def _fetch_torchvision(spec: ModelSpec, w: WeightsSpec, src: TorchvisionSource, recorded: str | None) -> Fetched:
    """torchvision's file: from torch.hub's cache when a good copy is there, else downloaded; its sha256 must
    start with the prefix in its file name (torch.hub's check) and equal the full sha256 when known."""
    from zoo.fsutil import sha256_file
    from zoo.settings import is_offline
    from zoo.urlfetch import fetch_url

    what = f"{spec.name}.{w.tag}"
    if w.files:
        raise WeightsError(f"{what}: a torchvision source gives one file, the entry has {len(w.files)}")
    url = torchvision_url(src)
    name = Path(url).name
    prefix = hash_prefix(url)
    sha = w.sha256 or recorded
    if prefix and sha and not sha.startswith(prefix):
        raise WeightsMismatchError(f"{what}: torchvision's {name} names sha256 prefix {prefix}, the pin is {sha[:12]}…")
    pinned = "registry" if w.sha256 else FIRST_USE
    theirs = _torch_hub_file(name)
    if theirs is not None:
        digest = sha256_file(theirs)
        if (not prefix or digest.startswith(prefix)) and (not sha or digest == sha):
            return Fetched(theirs, sha or digest, pinned, url)
        log.warning("%s: %s in torch.hub's cache does not match its pin; downloading a fresh copy", what, theirs)
    if is_offline():
        raise OfflineError(f"{what}: {url}: the zoo is offline")
    folder = downloads_dir(spec, w)
    digest = fetch_url(url, folder / name, sha256=sha, size=w.size, label=f"{what} {name}", sha256_prefix=prefix)
    return Fetched(folder / name, sha or digest, pinned, url, folder)


def _torch_hub_file(name: str) -> Path | None:
    """torch.hub's cached checkpoint of that name (what torchvision itself downloaded), if any."""
    import torch.hub

    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    return path if path.is_file() else None


FETCHERS: dict[type, Callable[..., Fetched]] = {HubSource: _fetch_hub, UrlSource: _fetch_url,
                                                TorchvisionSource: _fetch_torchvision}


# ------------------------------------------------------------------ the whole path: sources -> cache

def download(spec: ModelSpec, w: WeightsSpec, *, expected: ExpectedState, force: bool = False) -> Path:
    """The cached safetensors for (spec, w): from the cache, else from the first source that gives the right
    bytes, converted (`expected` is the model's state dict, or a zero-arg callable building it: only the
    caller can build a net) and stored. One process fetches an entry; the others wait, then reuse it."""
    from zoo.cache import cached_weights, entry_lock
    from zoo.settings import is_offline

    cached = cached_weights(spec, w)
    if cached is not None and not force:
        return cached
    if not w.all_sources:
        raise WeightsNotFoundError(what_instead(spec, w))
    try:
        with entry_lock(spec.name, w.tag):
            again = cached_weights(spec, w)
            if again is not None and not force:
                return again
            return _download_locked(spec, w, expected)
    except OfflineError:
        if cached is None:
            raise
        # --force offline: the weights ARE cached; say that, and that they stay (not "not cached")
        why = "the zoo is offline" if is_offline() else "no source can be reached"
        raise OfflineError(f"{spec.name}.{w.tag}: --force fetches the original again, but {why}; the cached "
                           f"weights ({cached}) are kept and still used") from None


def _recorded(spec: ModelSpec, w: WeightsSpec) -> str | None:
    """The first-use hash an earlier download recorded in the entry's lock (None when the registry pins it)."""
    from zoo.cache import lock_of
    from zoo.paths import weights_dir

    if w.pinned:
        return None
    lock = lock_of(weights_dir(spec.name, w.tag))
    return lock.original_sha256 if lock is not None and lock.pinned_by == FIRST_USE else None


def _download_locked(spec: ModelSpec, w: WeightsSpec, expected: ExpectedState) -> Path:
    from zoo.convert import convert_to_cache

    recorded = _recorded(spec, w)
    failures: list[tuple[Source, WeightsError]] = []
    for src in w.all_sources:
        try:
            got = FETCHERS[type(src)](spec, w, src, recorded)
        except StorageError:
            raise  # a full disk is not cured by the next source
        except WeightsError as e:
            failures.append((src, e))
            if not isinstance(e, OfflineError) and src is not w.all_sources[-1]:
                log.warning("%s: %s failed: %s; trying the next source", f"{spec.name}.{w.tag}", label(src),
                            _reason(e, f"{spec.name}.{w.tag}: "))
            continue
        try:
            return convert_to_cache(spec, w, got.path, w.format, src.kind, got.origin_text, got.expected_sha256,
                                    got.pinned_by, expected=expected)
        except ConversionError:
            raise  # the right bytes that do not convert: another copy of them would not either
        except WeightsMismatchError as e:
            failures.append((src, e))
            if src is not w.all_sources[-1]:
                log.warning("%s: %s failed: %s; trying the next source", f"{spec.name}.{w.tag}", label(src),
                            _reason(e, f"{spec.name}.{w.tag}: "))
        finally:
            if got.temporary is not None:
                shutil.rmtree(got.temporary, ignore_errors=True)
    raise _all_failed(spec, w, failures)


def _reason(e: BaseException, prefix: str) -> str:
    """An error's text without the "model.tag: " its lines start with."""
    text = str(e)
    return text[len(prefix):] if text.startswith(prefix) else text


def _all_failed(spec: ModelSpec, w: WeightsSpec, failures: list[tuple[Source, WeightsError]]) -> WeightsError:
    """One error for an entry no source could give: offline names the sources it would use and the size; one
    source keeps its own error; several list every source's reason, typed by the worst of them."""
    from zoo.settings import is_offline

    errors = [e for _, e in failures]
    if is_offline() and all(isinstance(e, OfflineError) for e in errors):
        return OfflineError(offline_message(spec, w))
    hint = f"; or bring a copy with {import_hint(spec, w)}"
    if len(failures) == 1:
        return type(errors[0])(f"{errors[0]}{hint}")
    prefix = f"{spec.name}.{w.tag}: "
    text = prefix + "no source gave the weights: " + "; ".join(
        f"{label(s)}: {_reason(e, prefix)}" for s, e in failures) + hint
    for kind in (WeightsMismatchError, WeightsAccessError):
        if any(isinstance(e, kind) for e in errors):
            return kind(text)
    for kind in (WeightsNotFoundError, OfflineError):
        if all(isinstance(e, kind) for e in errors):
            return kind(text)
    return WeightsError(text)
