"""Comparing what two backends answered: "the same detections" (the issue's criterion for detectors:
same classes, IoU >= 0.9, score within 0.02) and "the same top-1"."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["same_detections", "same_top1"]


def _dets(result: Any) -> list[Any]:
    if isinstance(result, (list, tuple)):
        return [d for r in result for d in _dets(r)] if result and not hasattr(result[0], "box") else list(result)
    return list(getattr(result, "detections", result))


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes a [N, 4] and b [M, 4] (x1, y1, x2, y2)."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(br - tl, 0, None).prod(-1)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(-1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    equal = (np.abs(a[:, None, :] - b[None, :, :]) <= 1e-6).all(-1)  # two equal zero-area boxes: the same box
    return np.where(union > 0, inter / np.where(union > 0, union, 1), equal.astype(np.float64))


def same_detections(a: Any, b: Any, iou: float = 0.9, score_tol: float = 0.02,
                    conf: float | None = None) -> tuple[bool, str]:
    """Whether detections `a` and `b` (DetectionResults, lists of them, or lists of Detection) match one to
    one: each of `a` pairs with an unused one of `b` of the same class, IoU >= `iou` and score within
    `score_tol` (greedy, highest scores first). Returns (ok, why): why names the first mismatch.

    With `conf` (the score threshold both ran with), a box that only one side kept is no mismatch when its
    score is within `score_tol` of the threshold: a score of 0.251 against 0.249 is the same answer."""
    da, db = _dets(a), _dets(b)
    if conf is not None:  # drop what sits at the threshold on one side only; a real difference still shows
        edge = conf + score_tol
        da, db = ([d for d in da if d.score >= edge or _has_twin(d, db, iou, score_tol)],
                  [d for d in db if d.score >= edge or _has_twin(d, da, iou, score_tol)])
    if len(da) != len(db):
        return False, f"{len(da)} detections against {len(db)}"
    if not da:
        return True, "no detections on either side"
    da = sorted(da, key=lambda d: -d.score)
    boxes_b = np.asarray([d.box for d in db], dtype=np.float64)
    ious = _iou(np.asarray([d.box for d in da], dtype=np.float64), boxes_b)
    used: set[int] = set()
    worst_iou, worst_score = 1.0, 0.0
    for i, d in enumerate(da):
        best, best_j = -1.0, -1
        for j, e in enumerate(db):
            if j in used or e.class_id != d.class_id or abs(e.score - d.score) > score_tol:
                continue
            if ious[i, j] > best:
                best, best_j = float(ious[i, j]), j
        if best_j < 0 or best < iou:
            why = (f"{d.label} {d.score:.3f} at {[round(float(v), 1) for v in d.box]} has no match"
                   + (f" (best IoU {best:.3f})" if best_j >= 0 else " of that class and score"))
            return False, why
        used.add(best_j)
        worst_iou = min(worst_iou, best)
        worst_score = max(worst_score, abs(db[best_j].score - d.score))
    return True, f"{len(da)} detections match (min IoU {worst_iou:.4f}, max score diff {worst_score:.4f})"


def _has_twin(d: Any, others: list[Any], iou: float, score_tol: float) -> bool:
    """Whether `others` holds a detection of d's class at IoU >= `iou` and score within `score_tol`."""
    same = [e for e in others if e.class_id == d.class_id and abs(e.score - d.score) <= score_tol]
    if not same:
        return False
    ious = _iou(np.asarray([d.box], dtype=np.float64), np.asarray([e.box for e in same], dtype=np.float64))
    return bool((ious >= iou).any())


def same_top1(a: Any, b: Any) -> tuple[bool, str]:
    """Whether two classification results (or lists of them) have the same top-1 class for every image."""
    ra = a if isinstance(a, (list, tuple)) else [a]
    rb = b if isinstance(b, (list, tuple)) else [b]
    if len(ra) != len(rb):
        return False, f"{len(ra)} results against {len(rb)}"
    for i, (x, y) in enumerate(zip(ra, rb)):
        tx, ty = x.topk[0], y.topk[0]
        if tx.class_id != ty.class_id:
            return False, f"image {i}: top-1 {tx.label} against {ty.label}"
    return True, f"top-1 the same on {len(ra)} image{'s' if len(ra) > 1 else ''}"
