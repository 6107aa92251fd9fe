"""Similarities between tracks and detections, and the Hungarian assignment (scipy's linear_sum_assignment)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

# COCO keypoint sigmas (pycocotools COCOeval.Params.kpt_oks_sigmas), COCO-17 order
OKS_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a (N, 4) and b (M, 4), xyxy -> (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def oks_matrix(a: np.ndarray, b: np.ndarray, areas: np.ndarray, visible_a: np.ndarray,
               visible_b: np.ndarray) -> np.ndarray:
    """Object keypoint similarity of skeletons a (N, 17, 2) against b (M, 17, 2), COCO's formula
    exp(-d^2 / (2 * area * (2 sigma)^2)) averaged over the joints visible in both (0 where none is);
    `areas` (N,) is the scale of each skeleton of a (its box area)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    d2 = ((a[:, None] - b[None, :]) ** 2).sum(-1)  # (N, M, 17)
    var = (2 * OKS_SIGMAS) ** 2
    e = d2 / (2.0 * np.maximum(areas, 1.0)[:, None, None] * var[None, None, :])
    both = visible_a[:, None, :] & visible_b[None, :, :]
    n = both.sum(-1)
    return np.where(n > 0, (np.exp(-e) * both).sum(-1) / np.maximum(n, 1), 0.0)


def assign(similarity: np.ndarray, threshold: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Maximum-similarity one-to-one assignment (Hungarian); pairs under `threshold` are left unmatched.
    -> (matched (row, col) pairs, unmatched rows, unmatched cols)."""
    n, m = similarity.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    rows, cols = linear_sum_assignment(-similarity)
    matched = [(int(r), int(c)) for r, c in zip(rows, cols) if similarity[r, c] >= threshold]
    mr = {r for r, _ in matched}
    mc = {c for _, c in matched}
    return matched, [r for r in range(n) if r not in mr], [c for c in range(m) if c not in mc]
