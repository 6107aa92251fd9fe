"""Evaluation datasets: COCO-format folders (images + instances JSON) and ImageNet-style class folders.

Everything is validated before any inference runs (and identically on every rank under torchrun), so a
bad dataset fails fast with one line naming the file at fault.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ArgumentError, InputError, at_least, first_line
from zoo.images import IMAGE_SUFFIXES


@dataclass(frozen=True)
class EvalImage:
    """One image to run: its path and what scoring needs to know about it."""

    path: Path
    image_id: int  # COCO image id; for class folders, the image's position in the dataset
    target: int = -1  # class index (class folders only)


@dataclass
class CocoDataset:
    ann_file: Path
    images_dir: Path
    images: list[EvalImage]
    data: dict[str, Any] = field(repr=False)  # the instances JSON, for pycocotools
    categories: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_segmentation(self) -> bool:
        return any("segmentation" in a for a in self.data.get("annotations", []))

    @property
    def has_keypoints(self) -> bool:
        return any(a.get("num_keypoints", 0) > 0 for a in self.data.get("annotations", []))



def first_n(items: list[Any], limit: int | None) -> list[Any]:
    """The first `limit` items, all when None."""
    at_least("limit", limit)
    return items if limit is None else items[:limit]

def find_coco(root: Path, split: str | None = None) -> tuple[Path, Path]:
    """`--coco DIR`: DIR/annotations/instances_<split>.json and the images in DIR/images, DIR/<split>
    or DIR/images/<split>."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder (expected a COCO-format folder with annotations/instances_*.json)")
    ann_dir = root / "annotations"
    found = sorted(ann_dir.glob("instances_*.json")) if ann_dir.is_dir() else []
    if split:
        found = [p for p in found if p.stem == f"instances_{split}"]
    if not found:
        what = f"annotations/instances_{split}.json" if split else "annotations/instances_*.json"
        raise ArgumentError(("ann", "images"), f"{root}: no {what} (a COCO-format folder holds "
                                               "annotations/instances_<split>.json and the images; or pass {} FILE "
                                               "with {} DIR)")
    if len(found) > 1:
        vals = [p for p in found if "val" in p.stem]
        if len(vals) != 1:
            names = ", ".join(p.stem.removeprefix("instances_") for p in found)
            raise ArgumentError("split", f"{root}: several annotation files ({names}); choose one with {{}}")
        found = vals
    ann = found[0]
    split_name = ann.stem.removeprefix("instances_")
    for cand in (root / "images" / split_name, root / split_name, root / "images"):
        if cand.is_dir():
            return ann, cand
    raise InputError(f"{root}: no images folder for {ann.name} (looked for images/{split_name}, {split_name}, images)")


def load_coco(ann_file: Path, images_dir: Path, limit: int | None = None) -> CocoDataset:
    """Read and check a COCO instances file; the first `limit` images (by id) are evaluated."""
    if not ann_file.is_file():
        raise InputError(f"{ann_file}: annotation file not found")
    if not images_dir.is_dir():
        raise InputError(f"{images_dir}: images folder not found")
    try:
        data = json.loads(ann_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{ann_file}: not a readable JSON file ({first_line(e)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise InputError(f"{ann_file}: not a COCO instances file (no 'images' list)")
    data.setdefault("annotations", [])
    cats = data.get("categories") or []
    if not cats:
        raise InputError(f"{ann_file}: no 'categories': cannot map model labels to category ids")
    _check_rows(ann_file, data)
    rows = sorted(data["images"], key=lambda r: r["id"])
    rows = first_n(rows, limit)
    if not rows:
        raise InputError(f"{ann_file}: the dataset lists no images: nothing to evaluate")
    images, missing = [], []
    for r in rows:
        path = images_dir / r["file_name"]
        if not path.is_file():
            missing.append(f"'{r['file_name']}' (id {r['id']})")
        images.append(EvalImage(path, int(r["id"])))
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InputError(f"{ann_file}: image {missing[0]}{more} listed but not found in {images_dir}")
    return CocoDataset(ann_file, images_dir, images, data, cats)


def _check_rows(ann_file: Path, data: dict[str, Any]) -> None:
    """Fields pycocotools and the zoo index: a missing one is one line here, not a KeyError mid-run."""
    for what, rows, fields in (("image", data["images"], ("id", "file_name")),
                               ("annotation", data["annotations"], ("image_id", "category_id", "bbox")),
                               ("category", data.get("categories") or [], ("id", "name"))):
        for i, r in enumerate(rows):
            missing = [f for f in fields if not isinstance(r, dict) or f not in r]
            if missing:
                ident = f"id {r['id']}" if isinstance(r, dict) and "id" in r else f"number {i + 1}"
                raise InputError(f"{ann_file}: {what} {ident} has no {', '.join(repr(f) for f in missing)} "
                                 f"(COCO {what}s need {', '.join(fields)})")
            if what == "annotation" and not (isinstance(r["bbox"], list) and len(r["bbox"]) == 4):
                raise InputError(f"{ann_file}: annotation {r.get('id', i + 1)}: 'bbox' must be [x, y, width, height]")


_WNID = re.compile(r"^n\d{8}$")
SYNSET_FILES = ("LOC_synset_mapping.txt", "synsets.txt", "wnids.txt", "synset_words.txt")


@dataclass
class FolderDataset:
    root: Path
    images: list[EvalImage]
    classes: dict[str, int]  # folder name -> class index


def _wnid_order(root: Path) -> list[str] | None:
    for folder in (root, root.parent):
        for name in SYNSET_FILES:
            path = folder / name
            if path.is_file():
                return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return None


def class_index(folders: list[str], labels: tuple[str, ...], root: Path) -> dict[str, int]:
    """Class folder names -> class indices: numbers, WordNet ids (with a synset list, or all 1000 of them
    sorted as ImageNet orders its classes), or the model's label names."""
    from zoo.categories import canonical_label

    out: dict[str, int] = {}
    if all(f.isdigit() for f in folders):
        out = {f: int(f) for f in folders}
    elif all(_WNID.match(f) for f in folders):
        order = _wnid_order(root)
        if order is None:
            if len(folders) != len(labels):
                raise InputError(f"{root}: class folders are WordNet ids but no synset list ({', '.join(SYNSET_FILES)}) "
                                 f"was found next to them, and there are {len(folders)} of them, not {len(labels)}")
            order = sorted(folders)
        pos = {w: i for i, w in enumerate(order)}
        unknown = [f for f in folders if f not in pos]
        if unknown:
            raise InputError(f"{root}: class folder '{unknown[0]}' is not in the synset list")
        out = {f: pos[f] for f in folders}
    else:
        by_name: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            by_name.setdefault(canonical_label(label), []).append(i)
        for f in folders:
            hits = by_name.get(canonical_label(f), [])
            if len(hits) != 1:
                why = "matches no label" if not hits else f"matches {len(hits)} labels (ids {hits})"
                raise InputError(f"{root}: class folder '{f}' {why} of the model; name folders by class index "
                                 "or WordNet id instead")
            out[f] = hits[0]
    bad = [f for f, i in out.items() if not 0 <= i < len(labels)]
    if bad:
        raise InputError(f"{root}: class folder '{bad[0]}' is outside the model's {len(labels)} classes")
    return out


def load_folder(root: Path, labels: tuple[str, ...], limit: int | None = None) -> FolderDataset:
    """An ImageNet-style folder (one sub-folder of images per class). `limit` takes images round-robin
    across classes so a quick run still sees every class."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder (expected one sub-folder of images per class)")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise InputError(f"{root}: no class folders: nothing to evaluate")
    classes = class_index(folders, labels, root)
    per_class = [[p for p in sorted((root / f).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES] for f in folders]
    order: list[tuple[Path, int]] = []
    depth = max(len(c) for c in per_class)
    for k in range(depth):
        for f, files in zip(folders, per_class):
            if k < len(files):
                order.append((files[k], classes[f]))
    order = first_n(order, limit)
    if not order:
        raise InputError(f"{root}: the class folders hold no images: nothing to evaluate")
    return FolderDataset(root, [EvalImage(p, i, t) for i, (p, t) in enumerate(order)], classes)
