"""Class-agnostic region proposals for R-CNN-style detectors: selective search, cached per image.

Selective search (Uijlings et al. 2013) is what R-CNN and Fast R-CNN used; we run OpenCV contrib's
implementation in its "fast" mode on a downscaled copy of the image (the proposals are scaled back).
OpenCV ranks regions pseudo-randomly without a way to seed it, so we take the *set* of regions,
order it deterministically, and subsample with a fixed seed when there are more than `max_proposals`:
the same image and parameters always give the same proposals.

Proposals cost about a second per image, so they are cached under ZOO_HOME/proposals, keyed by the
sha256 of the pixels plus every parameter and the OpenCV version; writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_VERSION = 1


@dataclass(frozen=True)
class ProposalParams:
    """Everything that changes the proposals of an image (and so the cache key)."""

    method: str = "selective-search"
    mode: str = "fast"  # fast | quality (OpenCV's two strategies)
    max_side: int = 500  # the image is downscaled so its longer side is at most this before the search
    max_proposals: int = 2000
    min_size: int = 4  # proposals narrower or lower than this (original pixels) are dropped

    def key_text(self) -> str:
        import cv2

        return json.dumps({**self.__dict__, "opencv": cv2.__version__, "v": CACHE_VERSION}, sort_keys=True)


@dataclass
class Proposals:
    """Boxes [N, 4] float32 xyxy in original-image pixels, and whether they came from the cache."""

    boxes: np.ndarray
    cached: bool
    key: str


def image_key(image: np.ndarray, params: ProposalParams) -> str:
    """sha256 over the pixels, their shape and the parameters."""
    h = hashlib.sha256()
    h.update(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    h.update(params.key_text().encode())
    return h.hexdigest()


def cache_dir() -> Path:
    from zoo.paths import zoo_home

    return zoo_home() / "proposals"


def selective_search(image: np.ndarray, params: ProposalParams | None = None) -> np.ndarray:
    """HxWx3 RGB uint8 -> [N, 4] float32 xyxy proposals in the image's pixels (deterministic)."""
    import cv2

    p = params or ProposalParams()
    if p.method != "selective-search":
        raise ValueError(f"unknown proposal method '{p.method}'")
    h0, w0 = image.shape[:2]
    scale = min(1.0, p.max_side / max(h0, w0))
    small = image
    if scale < 1.0:
        small = cv2.resize(image, (max(1, round(w0 * scale)), max(1, round(h0 * scale))), interpolation=cv2.INTER_AREA)
    ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    ss.setBaseImage(cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2BGR))
    if p.mode == "fast":
        ss.switchToSelectiveSearchFast()
    elif p.mode == "quality":
        ss.switchToSelectiveSearchQuality()
    else:
        raise ValueError(f"unknown selective search mode '{p.mode}' (fast, quality)")
    rects = np.asarray(ss.process(), dtype=np.float64).reshape(-1, 4)  # x, y, w, h in the small image
    sy, sx = small.shape[0] / h0, small.shape[1] / w0
    boxes = np.stack([rects[:, 0] / sx, rects[:, 1] / sy, (rects[:, 0] + rects[:, 2]) / sx,
                      (rects[:, 1] + rects[:, 3]) / sy], axis=1)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w0)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h0)
    boxes = np.round(boxes, 2).astype(np.float32)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= p.min_size) & ((boxes[:, 3] - boxes[:, 1]) >= p.min_size)
    boxes = np.unique(boxes[keep], axis=0)  # a set, lexicographically sorted: independent of OpenCV's random ranking
    if len(boxes) > p.max_proposals:
        pick = np.random.default_rng(0).permutation(len(boxes))[: p.max_proposals]
        boxes = boxes[np.sort(pick)]
    return np.ascontiguousarray(boxes, dtype=np.float32)


def get_proposals(image: np.ndarray, params: ProposalParams | None = None, use_cache: bool = True) -> Proposals:
    """Proposals for one image, from the cache when this image and these parameters were seen before."""
    p = params or ProposalParams()
    key = image_key(image, p)
    path = cache_dir() / key[:2] / f"{key}.npy"
    if use_cache and path.is_file():
        try:
            boxes = np.load(path, allow_pickle=False)
            if boxes.ndim == 2 and boxes.shape[1] == 4:
                return Proposals(boxes.astype(np.float32, copy=False), True, key)
        except (OSError, ValueError):
            pass  # a damaged entry is recomputed and overwritten
    boxes = selective_search(image, p)
    if use_cache:
        try:
            _atomic_save(path, boxes)
        except OSError:
            pass  # a full or read-only cache: the proposals are still right, only not kept for next time
    return Proposals(boxes, False, key)


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    from zoo.fsutil import atomic_path

    with atomic_path(path, ".npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)
