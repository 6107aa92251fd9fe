"""Label sets by name (a plugin's, else a bundled one, looked up in a registry: the default one unless given)
and class names matched across label sets (Darknet's COCO-80 spellings vs COCO's, COCO category ids)."""

from __future__ import annotations

import functools
from typing import Any

from zoo.labelsets import LabelSet, bundled


def label_set(name: str, registry: Any = None) -> LabelSet:
    """The label set `name` from `registry` (None: the process-wide one the plugins filled)."""
    if registry is None:
        from zoo.plugin_manager import default_registry

        registry = default_registry()
    return registry.label_set(name)


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
    coco = bundled("coco91")
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
