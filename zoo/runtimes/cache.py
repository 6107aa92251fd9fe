"""The exports cache as `zoo cache` sees it: list and remove ZOO_HOME/exports entries without importing torch.

Layout (zoo.runtimes.exporter): ZOO_HOME/exports/<model>/<format>-<precision>-<key>/{artefact files, export.json}.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "export.json"  # the same name zoo.runtimes.exporter writes


@dataclass(frozen=True)
class ExportEntry:
    model: str
    format: str
    precision: str
    weights: str  # the weights label the artefact was exported from ("random init", a file, a cache tag)
    batch: str  # a number, or "dynamic"
    size: int  # bytes of the whole entry
    path: str


def exports_root() -> Path:
    from zoo.paths import zoo_home

    return zoo_home() / "exports"


def export_entries(model: str | None = None) -> list[ExportEntry]:
    """Every complete export entry (one with its manifest), of `model` only when given, sorted by model."""
    root = exports_root()
    out = []
    for model_dir in sorted(root.iterdir()) if root.is_dir() else []:
        if not model_dir.is_dir() or model_dir.name.startswith(".") or (model and model_dir.name != model):
            continue
        for entry in sorted(model_dir.iterdir()):
            try:
                key = json.loads((entry / MANIFEST).read_text()).get("key", {})
            except (OSError, ValueError):
                continue  # staging folders and torn entries are not entries
            size = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
            out.append(ExportEntry(model_dir.name, str(key.get("format", "?")), str(key.get("precision", "?")),
                                   str(key.get("label", "?")), str(key.get("batch", "?")), size, str(entry)))
    return out


OPENVINO_CACHE = ".openvino-cache"  # OpenVINO's compiled-model blobs (zoo.runtimes.runners sets CACHE_DIR there)


@dataclass(frozen=True)
class ExportExtra:
    """Bytes under ZOO_HOME/exports that are no entry: OpenVINO's compiled-model cache, unfinished exports."""

    what: str
    size: int
    path: str


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def export_extras() -> list[ExportExtra]:
    """What else the zoo wrote under ZOO_HOME/exports: so that `zoo cache ls --exports` adds up to the disk."""
    root = exports_root()
    entries = {e.path for e in export_entries()}
    out = []
    for top in sorted(root.iterdir()) if root.is_dir() else []:
        if top.name == OPENVINO_CACHE:
            out.append(ExportExtra("OpenVINO compiled-model cache (rebuilt on demand)", _size(top), str(top)))
        elif top.is_dir():
            out += [ExportExtra("unfinished or torn export", _size(p), str(p))
                    for p in sorted(top.iterdir()) if str(p) not in entries]
        else:
            out.append(ExportExtra("stray file", _size(top), str(top)))
    return out


def remove_exports(model: str) -> list[str]:
    """Remove every export of `model` (its folder under ZOO_HOME/exports, unfinished ones included) and
    OpenVINO's compiled-model cache (shared by all models, derived from the exports, rebuilt on demand: left
    behind it held hundreds of MB no command listed); the paths removed."""
    from zoo.paths import safe_part

    folder = exports_root() / safe_part(model, "model name")
    if not folder.is_dir():
        return []
    shutil.rmtree(folder)
    removed = [str(folder)]
    compiled = exports_root() / OPENVINO_CACHE
    if compiled.is_dir():
        shutil.rmtree(compiled)
        removed.append(str(compiled))
    return removed
