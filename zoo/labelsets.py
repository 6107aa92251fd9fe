"""Label sets as data: class names in class-id order, with keypoint names and skeleton edges for pose sets;
the bundled sets (ImageNet-1k, COCO-80, COCO-91, COCO-17 keypoints) are text files in zoo/data."""

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
    """A label file's lines (one label each), or one SpecError naming the file."""
    try:
        return tuple(line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines())
    except OSError as e:
        raise SpecError(f"{path}: cannot read label file: {e.strerror or e}") from None


@functools.cache
def bundled(name: str) -> LabelSet | None:
    """The label set zoo/data ships as `name`.txt, or None."""
    path = DATA / f"{name}.txt"
    return LabelSet(name, read_lines(path)) if path.is_file() else None


def bundled_names() -> list[str]:
    """Names of the label sets zoo/data ships."""
    return sorted(p.stem for p in DATA.glob("*.txt"))
