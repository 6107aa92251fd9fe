"""One file over HTTPS into a local folder: a `.part` file beside the target, resumed with a Range request
where the server allows it (restarted where it does not), a progress bar on stderr, and the sha256 and size
checked before the file takes its final name by an atomic rename. A file that fails its check is deleted,
never renamed. `ZOO_URL_MIRROR` sends every URL to a mirror (https://HOST/PATH -> $ZOO_URL_MIRROR/HOST/PATH).

Standard library only (urllib): certificate checks are urllib's defaults.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from zoo.errors import (
    WeightsAccessError,
    WeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
    disk_error,
)
from zoo.fsutil import sha256_file

TIMEOUT_S = 30.0  # per connect and per read: a stalled server fails in half a minute, not hours
CHUNK_BYTES = 1 << 20
MIRROR_VARIABLE = "ZOO_URL_MIRROR"
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # plain http is accepted there (a local mirror, the tests' server)
USER_AGENT = "cvzoo"


def mirrored(url: str) -> str:
    """`url` as fetched: through $ZOO_URL_MIRROR when set (the same checksum applies)."""
    mirror = os.environ.get(MIRROR_VARIABLE, "").strip().rstrip("/")
    if not mirror:
        return url
    p = urlparse(url)
    return f"{mirror}/{p.netloc}{p.path}" + (f"?{p.query}" if p.query else "")


def _check_scheme(url: str) -> None:
    """HTTPS only, except to this machine or through the user's own mirror (ZOO_URL_MIRROR)."""
    p = urlparse(url)
    mirror = os.environ.get(MIRROR_VARIABLE, "").strip()
    if p.scheme == "https" or (p.scheme == "http" and (p.hostname in LOOPBACK or (mirror and url.startswith(mirror)))):
        return
    raise WeightsError(f"{url}: only https:// URLs are fetched (plain http only from this machine or ZOO_URL_MIRROR)")


def _open(url: str, start: int, timeout: float):  # -> http.client.HTTPResponse
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)  # noqa: S310 (scheme checked)


def _http_error(label: str, url: str, e: urllib.error.HTTPError) -> WeightsError:
    if e.code in (401, 403):
        return WeightsAccessError(f"{label}: {url}: the server refused access (HTTP {e.code})")
    if e.code in (404, 410):
        return WeightsNotFoundError(f"{label}: {url}: not found (HTTP {e.code})")
    return WeightsError(f"{label}: {url}: HTTP {e.code} {e.reason}")


def _network_error(label: str, url: str, e: BaseException, timeout: float) -> WeightsError:
    reason = getattr(e, "reason", None) or e
    if isinstance(reason, TimeoutError):
        return WeightsError(f"{label}: {url}: no answer within {timeout:g} s")
    return WeightsError(f"{label}: {url}: {str(reason).splitlines()[0] if str(reason) else type(reason).__name__}")


def _progress(label: str, total: int | None, done: int):  # -> a tqdm bar on stderr (silent when not a terminal)
    from huggingface_hub.utils import tqdm

    return tqdm(total=total, initial=done, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=None,
                leave=False)


def _receive(url: str, part: Path, label: str, size: int | None, timeout: float) -> None:
    """Append the rest of `url` to `part` (from its current length when the server honours Range)."""
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:  # a part longer than the file: not ours to resume
        have = 0
    try:
        resp = _open(url, have, timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send: the part is whole (its hash decides)
            return
        raise _http_error(label, url, e) from None
    except (urllib.error.URLError, OSError) as e:
        raise _network_error(label, url, e, timeout) from None
    with resp:
        if have and resp.status != 206:  # the server ignored Range: start again from byte 0
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        if size is not None and total is not None and total != size:
            raise WeightsMismatchError(f"{label}: {url} is {total} bytes, the registry says {size}: refused")
        try:
            with open(part, "ab" if have else "wb") as fh, _progress(label, total, have) as bar:
                while block := resp.read(CHUNK_BYTES):
                    fh.write(block)
                    bar.update(len(block))
        except (TimeoutError, ConnectionError, urllib.error.URLError) as e:
            raise _network_error(label, url, e, timeout) from None  # the part stays: the next try resumes it


def fetch_url(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None, label: str = "",
              sha256_prefix: str | None = None, timeout: float = TIMEOUT_S) -> str:
    """Download `url` to `dest` (through ZOO_URL_MIRROR) and return the file's sha256. `sha256`, `size` and
    `sha256_prefix` (torch.hub's file-name check), when given, must match before `dest` appears; a mismatch
    deletes the download and raises WeightsMismatchError. A resumed part that fails is fetched once more
    from byte 0."""
    url = mirrored(url)
    _check_scheme(url)
    label = label or dest.name
    part = dest.with_name(dest.name + ".part")
    if sha256 and dest.is_file() and sha256_file(dest) == sha256:  # fetched and checked by a run that died later
        return sha256
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        for attempt in (0, 1):
            resumed = part.is_file() and part.stat().st_size > 0
            _receive(url, part, label, size, timeout)
            got_size, digest = part.stat().st_size, sha256_file(part)
            wrong = (f"{got_size} bytes, the registry says {size}" if size is not None and got_size != size
                     else f"sha256 {digest}, expected {sha256}" if sha256 and digest != sha256
                     else f"sha256 {digest} does not start with {sha256_prefix}, the prefix in the file name"
                     if sha256_prefix and not digest.startswith(sha256_prefix) else "")
            if not wrong:
                os.replace(part, dest)
                return digest
            part.unlink(missing_ok=True)
            if not (resumed and attempt == 0):
                raise WeightsMismatchError(f"{label}: {url}: {wrong}: refused (nothing was cached)")
    except OSError as e:
        err = disk_error(e, dest.parent, "set ZOO_HOME to a folder with room")
        if err is None:
            raise
        raise err from None
    raise AssertionError("unreachable")
