"""The report's output folder, guarded: it is new, empty, or a site this command wrote before (its manifest
lists every file it wrote). A file the command did not write is never overwritten or deleted."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from zoo.errors import InputError
from zoo.fsutil import atomic_path

MANIFEST = ".zoo-report.json"  # the files the last build wrote, relative to the folder


class SiteFolder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.previous = self._check(root)
        self.written: set[str] = set()

    @staticmethod
    def _check(root: Path) -> set[str]:
        """The files an earlier build wrote (empty for a new folder); one InputError line otherwise."""
        if root.exists() and not root.is_dir():
            raise InputError(f"--out {root}: is a file; give a folder")
        if root.is_dir() and any(root.iterdir()):
            try:
                listed = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]
            except (OSError, ValueError, KeyError, TypeError):
                raise InputError(f"--out {root}: the folder holds files zoo report did not write; "
                                 "give an empty or new folder") from None
            if not isinstance(listed, list) or not all(isinstance(p, str) and _inside(p) for p in listed):
                raise InputError(f"--out {root}: its {MANIFEST} is not one zoo report wrote; give another folder")
            return set(listed)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"--out {root}: cannot create the folder ({e.strerror or e})") from None
        if not os.access(root, os.W_OK | os.X_OK):
            raise InputError(f"--out {root}: the folder is not writable")
        return set()

    def _target(self, rel: str) -> Path:
        path = self.root / rel
        if path.exists() and rel not in self.previous and rel not in self.written:
            raise InputError(f"--out {self.root}: {rel} exists and zoo report did not write it; not overwriting it")
        return path

    def write(self, rel: str, data: bytes | str) -> str:
        """Write one file atomically; returns `rel` (the page's link to it)."""
        path = self._target(rel)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        except OSError as e:
            raise InputError(f"--out {self.root}: cannot write {rel} ({e.strerror or e})") from None
        self.written.add(rel)
        return rel

    def finish(self) -> list[str]:
        """Record what this build wrote and remove the files only the earlier build had (ours, now stale);
        returns the removed ones."""
        stale = sorted(self.previous - self.written - {MANIFEST})
        for rel in stale:
            try:
                (self.root / rel).unlink()
            except FileNotFoundError:
                pass
        self.write(MANIFEST, json.dumps({"files": sorted(self.written | {MANIFEST})}, indent=1) + "\n")
        return stale

    def keep(self) -> None:
        """After a build stopped half-way (an error, Ctrl-C): list every file written so far, removing nothing,
        so the next build may replace them."""
        self.write(MANIFEST, json.dumps({"files": sorted(self.previous | self.written | {MANIFEST})}, indent=1) + "\n")


def _inside(rel: str) -> bool:
    """A manifest entry names a file inside the folder (never '..', never absolute): only those may be removed."""
    parts = PurePosixPath(rel).parts
    return bool(parts) and not PurePosixPath(rel).is_absolute() and ".." not in parts and "\\" not in rel
