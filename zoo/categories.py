"""Label sets: class names in class-id order (ImageNet-1k, COCO-80, COCO-91, COCO-17 keypoints from zoo/data,
and any set a plugin registers with `register.labels(...)`), plus keypoint names and skeleton edges for pose."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import SpecError

DATA = Path(__file__).with_name("data")


@dataclass(frozen=True)
class LabelSet:
    """A named label set; pose sets also name their keypoints and the skeleton's edges (index pairs)."""

    name: str
    labels: tuple[str, ...]
    keypoints: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()
    source: str = "zoo"


def make_label_set(name: str, labels: Any, keypoints: Any = None, skeleton: Any = None,
                   source: str = "zoo") -> LabelSet:
    """Validate a plugin's label set: labels as a list or a text file (one per line)."""
    if not isinstance(name, str) or not name:
        raise SpecError(f"{source}: a label set needs a name, got {name!r}")
    if isinstance(labels, (str, Path)):
        labels = read_lines(Path(labels))
    if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
        raise SpecError(f"{source}: label set '{name}': labels must be a list of strings or a text file")
    kps = tuple(keypoints or ())
    edges = tuple(tuple(e) for e in (skeleton or ()))
    n = len(kps) or len(labels)
    for e in edges:
        if len(e) != 2 or not all(isinstance(i, int) and 0 <= i < n for i in e):
            raise SpecError(f"{source}: label set '{name}': skeleton edge {e!r} is not a pair of indices below {n}")
    return LabelSet(name, tuple(labels), kps, edges, source)  # type: ignore[arg-type]


def read_lines(path: Path) -> tuple[str, ...]:
    try:
        return tuple(line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines())
    except OSError as e:
        raise SpecError(f"{path}: cannot read label file: {e.strerror or e}") from None


@functools.cache
def _bundled(name: str) -> LabelSet | None:
    path = DATA / f"{name}.txt"
    return LabelSet(name, read_lines(path)) if path.is_file() else None


def label_set(name: str, registry: Any = None) -> LabelSet:
    """The label set `name`: one a plugin registered, else a bundled zoo/data file."""
    if registry is None:
        from zoo.plugin_manager import default_registry

        registry = default_registry()
    found = registry.label_set(name) or _bundled(name)
    if found is None:
        known = sorted({p.stem for p in DATA.glob("*.txt")} | set(registry.label_sets()))
        raise SpecError(f"unknown category set '{name}' (known: {', '.join(known)})")
    return found


def categories(name: str, registry: Any = None) -> tuple[str, ...]:
    """Labels of a category set, in class-id order ("N/A" marks unused ids, as in COCO-91)."""
    return label_set(name, registry).labels


# Names that differ between label sets for the same class (Darknet's COCO-80 / PASCAL names vs COCO's).
SYNONYMS = {"motorbike": "motorcycle", "aeroplane": "airplane", "sofa": "couch", "tvmonitor": "tv",
            "diningtable": "dining table", "pottedplant": "potted plant"}


def canonical_label(name: str) -> str:
    """A label in one spelling for matching across label sets: lowercase, '_'/'-' as spaces, synonyms folded."""
    key = " ".join(name.lower().replace("_", " ").replace("-", " ").split())
    key = SYNONYMS.get(key, SYNONYMS.get(key.replace(" ", ""), key))
    return key.replace(" ", "")


UNUSED = {"n/a", "__background__", "background"}


@functools.lru_cache(maxsize=32)
def _coco_map(labels: tuple[str, ...]) -> tuple[tuple[int, str], ...] | None:
    """Per model class, (COCO category id, COCO name), when every real label of the set is a COCO class."""
    coco = _bundled("coco91")
    assert coco is not None
    by_name = {canonical_label(n): (i, n) for i, n in enumerate(coco.labels) if n.lower() not in UNUSED}
    out = []
    for label in labels:
        if label.lower() in UNUSED:
            out.append((-1, label))
            continue
        found = by_name.get(canonical_label(label))
        if found is None:
            return None
        out.append(found)
    return tuple(out)


def coco_class(labels: tuple[str, ...], index: int) -> tuple[int, str] | None:
    """(COCO category id, canonical COCO name) of a model's class `index`, so detections of every family name
    classes the same way (YOLO's COCO-80 index 60 'diningtable' and an R-CNN's COCO-91 id 67 are both
    (67, 'dining table')); None for label sets that are not COCO classes."""
    found = _coco_map(tuple(labels))
    if found is None or not 0 <= index < len(found) or found[index][0] < 0:
        return None
    return found[index]
