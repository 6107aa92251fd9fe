"""Category label sets (ImageNet-1k, COCO-80, COCO-91, COCO-17 keypoints), read from zoo/data."""

from __future__ import annotations

import functools
from pathlib import Path

from zoo.errors import SpecError

DATA = Path(__file__).with_name("data")


@functools.cache
def categories(name: str) -> tuple[str, ...]:
    """Labels of a category set, in class-id order ("N/A" marks unused ids, as in COCO-91)."""
    path = DATA / f"{name}.txt"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in DATA.glob("*.txt")))
        raise SpecError(f"unknown category set '{name}' (known: {known})")
    return tuple(line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines())


# Names that differ between label sets for the same class (Darknet's COCO-80 / PASCAL names vs COCO's).
SYNONYMS = {"motorbike": "motorcycle", "aeroplane": "airplane", "sofa": "couch", "tvmonitor": "tv",
            "diningtable": "dining table", "pottedplant": "potted plant"}


def canonical_label(name: str) -> str:
    """A label in one spelling for matching across label sets: lowercase, '_'/'-' as spaces, synonyms folded."""
    key = " ".join(name.lower().replace("_", " ").replace("-", " ").split())
    key = SYNONYMS.get(key, SYNONYMS.get(key.replace(" ", ""), key))
    return key.replace(" ", "")
