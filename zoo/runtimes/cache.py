"""The exports cache as `zoo cache` sees it: list and remove ZOO_HOME/exports entries without importing torch.

Layout (zoo.runtimes.export): ZOO_HOME/exports/<model>/<format>-<precision>-<key>/{artefact files, export.json}.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "export.json"  # the same name zoo.runtimes.export writes


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


def remove_exports(model: str) -> list[str]:
    """Remove every export of `model` (its folder under ZOO_HOME/exports); the paths removed."""
    from zoo.paths import safe_part

    folder = exports_root() / safe_part(model, "model name")
    if not folder.is_dir():
        return []
    shutil.rmtree(folder)
    return [str(folder)]
