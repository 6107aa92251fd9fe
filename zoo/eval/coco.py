"""Model results -> COCO results JSON, and scoring with pycocotools' COCOeval (bbox, segm, keypoints).

Label spaces differ between models (COCO-80 for YOLO, COCO-91 for torchvision's R-CNNs, ...): a model's
class ids are mapped to the dataset's category ids through their names (zoo.categories.canonical_label),
so every COCO detector scores on every COCO-format dataset.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

from zoo.errors import InputError

STATS = {
    "bbox": ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"],
    "segm": ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"],
    "keypoints": ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"],
}


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """pycocotools prints progress to stdout; keep stdout for the one JSON document `--json` promises."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield buf


def label_map(labels: tuple[str, ...], categories: list[dict[str, Any]]) -> dict[int, int]:
    """Model class id -> dataset category id, matched by canonical name; unmatched classes are absent."""
    from zoo.categories import canonical_label

    by_name = {canonical_label(c["name"]): int(c["id"]) for c in categories}
    out = {i: by_name[canonical_label(label)] for i, label in enumerate(labels) if canonical_label(label) in by_name}
    if not out:
        names = ", ".join(c["name"] for c in categories[:5])
        raise InputError(f"none of the model's labels match the dataset's categories ({names}...)")
    return out


def to_coco(result: Any, image_id: int, cat_of: dict[int, int], dropped: Counter[str],
            answers: str = "detections") -> list[dict[str, Any]]:
    """One image's result -> COCO result records; `answers` is its Task's (zoo.taskspec): "detections" (boxes,
    masks) or "people" (keypoint instances)."""
    out: list[dict[str, Any]] = []
    if answers == "people":
        person = cat_of.get(0)  # keypoint models: class 0 is the dataset's person category
        for p in result.people:
            kps = p.keypoints if not isinstance(p, dict) else p["keypoints"]
            flat = [float(v) for xyz in kps for v in (xyz[0], xyz[1], xyz[2])]
            rec: dict[str, Any] = {"image_id": image_id, "category_id": person, "keypoints": flat,
                                   "score": float(p.score if not isinstance(p, dict) else p["score"])}
            box = getattr(p, "box", None) if not isinstance(p, dict) else p.get("box")
            if box is not None:
                rec["bbox"] = [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]
            out.append(rec)
        return out
    for d in result.detections:
        cat = cat_of.get(d.class_id if getattr(d, "model_class_id", None) is None else d.model_class_id)
        if cat is None:
            dropped[d.label] += 1
            continue
        x1, y1, x2, y2 = (float(v) for v in d.box)
        rec = {"image_id": image_id, "category_id": cat, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(d.score)}
        if d.mask is not None:
            from zoo.tasks.detection import mask_to_rle

            rec["segmentation"] = mask_to_rle(d.mask)
        out.append(rec)
    return out


def score(gt_data: dict[str, Any], results: list[dict[str, Any]], types: list[str],
          image_ids: list[int]) -> dict[str, dict[str, float]]:
    """COCOeval over `image_ids` for each type; the 12 (or 10) summary numbers by name, as pycocotools
    computes them (-1 where the dataset has no ground truth of that kind)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with quiet():
        gt = COCO()
        gt.dataset = copy.deepcopy(gt_data)
        gt.createIndex()
    metrics: dict[str, dict[str, float]] = {}
    for t in types:
        usable = [r for r in results if (t != "segm" or "segmentation" in r) and (t != "keypoints" or "keypoints" in r)]
        if t == "bbox":
            usable = [r for r in usable if "bbox" in r]
        if not usable:  # COCO.loadRes cannot take an empty list: nothing detected scores 0
            metrics[t] = {name: 0.0 for name in STATS[t]}
            continue
        with quiet():
            dt = gt.loadRes(copy.deepcopy(usable))
            ev = COCOeval(gt, dt, t)
            ev.params.imgIds = sorted(image_ids)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        metrics[t] = {name: float(v) for name, v in zip(STATS[t], ev.stats)}
    return metrics
