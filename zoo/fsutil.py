"""One atomic writer for every file the zoo writes (cache entries, lock files, proposal caches, results):
a temp file in the destination's folder, then os.replace, so readers never see half a file; and one for
folders written as a unit (a weights entry, an export), staged beside their place and renamed into it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yields a temp path beside `path`; on normal exit it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a plain open() would honour the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_folder(stage: str | Path, folder: str | Path) -> None:
    """`stage` (a finished folder on the same file system) becomes `folder` by renames: os.replace cannot
    replace a non-empty folder, so an old `folder` steps aside as .trash-<name>-<pid> and is removed after.
    A killed process leaves `folder` old, new or absent, never mixed; a `folder` that another process creates
    meanwhile makes the second rename fail with ENOTEMPTY or EEXIST."""
    stage, folder = Path(stage), Path(folder)
    trash = folder.parent / f".trash-{folder.name}-{os.getpid()}"
    if folder.exists():
        os.replace(folder, trash)
    os.replace(stage, folder)
    shutil.rmtree(trash, ignore_errors=True)


def current_umask() -> int:
    """The process umask (reading it means setting it; set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (weights files are hundreds of MB)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def make_out_dir(path: str | Path, flag: str) -> Path:
    """Create an output folder the user named, one level only: a typo'd parent ('/nonexistent/x') is refused in
    one line instead of growing a tree of folders at the filesystem root."""
    from zoo.errors import InputError

    path = Path(path)
    if path.is_dir():
        return path
    if path.exists():
        raise InputError(f"{flag} {path}: is a file; give a folder")
    if not path.parent.is_dir():
        raise InputError(f"{flag} {path}: its folder {path.parent} does not exist (create it first)")
    try:
        path.mkdir()
    except OSError as e:
        raise InputError(f"{flag} {path}: cannot create it ({e.strerror or e})") from None
    return path


def check_out_file(path: str | Path, flag: str) -> Path:
    """An output file the user named: not a folder, in an existing writable folder (no folder is created for it:
    a typo'd '/nonexistent/x.json' is one line, not a new folder at the filesystem root)."""
    from zoo.errors import InputError

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{flag} {path}: its folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{flag} {path}: its folder {folder} is not writable")
    return path


def refuse_existing(paths: Iterable[str | Path], flag: str = "--force") -> None:
    """Every command's policy for files it writes: one that exists before the command runs is never replaced
    silently. It is refused in one line (exit 2) naming it and `flag`, before any work; with the flag it is
    replaced (atomically, like every write). Refusing rather than picking a free name: a free name would leave
    the old file looking like this run's result and change the names a script expects from run to run."""
    from zoo.errors import InputError

    taken = list(dict.fromkeys(Path(p) for p in paths if os.path.lexists(p)))  # a video's frames share one
    if taken:
        more = f" (and {len(taken) - 1} more that this run writes)" if len(taken) > 1 else ""
        raise InputError(f"{taken[0]}: exists{more}; pass {flag} to overwrite it")
