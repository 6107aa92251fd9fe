"""Detection and instance segmentation results, shared by every detector family."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from zoo.categories import categories, coco_class
from zoo.model import ZooModel
from zoo.tasks.results import Result, color, fitted_size, label_box


@dataclass
class Detection:
    box: list[float]  # [x1, y1, x2, y2] in original-image pixels
    label: str
    class_id: int
    score: float
    mask: np.ndarray | None = None  # HxW bool in original-image pixels (instance segmentation)
    landmarks: list[list[float]] | None = None  # [[x, y], ...] in original-image pixels (e.g. MTCNN's 5 face points)
    track_id: int | None = None  # set by `zoo track`
    model_class_id: int | None = None  # the model's own class index (class_id is the COCO id for COCO classes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"box": [round(float(v), 2) for v in self.box], "label": self.label,
                               "class_id": self.class_id, "score": round(float(self.score), 6)}
        if self.model_class_id is not None:
            out["model_class_id"] = self.model_class_id
        if self.mask is not None:
            out["mask"] = mask_to_rle(self.mask)
        if self.landmarks is not None:
            out["landmarks"] = [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks]
        if self.track_id is not None:
            out["track_id"] = int(self.track_id)
        return out


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO run-length encoding (pycocotools), JSON-ready."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


@dataclass
class DetectionResult(Result):
    detections: list[Detection] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "image_size": list(self.image_size),
                "detections": [d.to_json() for d in self.detections]}

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        cols = ["label", "class_id", "score", "box x1,y1,x2,y2"]
        rows = [[d.label, d.class_id, f"{d.score:.3f}", ", ".join(f"{v:.1f}" for v in d.box)] for d in self.detections]
        if any(d.mask is not None for d in self.detections):  # instance segmentation: mask area too
            cols.append("mask px")
            for row, d in zip(rows, self.detections):
                row.append("" if d.mask is None else int(d.mask.sum()))
        return cols, rows

    def draw(self, image: Any = None) -> Any:
        from PIL import Image, ImageDraw

        canvas = self._canvas(image)
        masks = [d for d in self.detections if d.mask is not None]
        if masks:
            arr = np.asarray(canvas).astype(np.float32)
            for d in masks:
                arr[d.mask] = 0.5 * arr[d.mask] + 0.5 * np.array(color(d.class_id), dtype=np.float32)
            canvas = Image.fromarray(arr.astype(np.uint8))
        draw = ImageDraw.Draw(canvas)
        width = max(2, round(max(canvas.size) / 300))
        taken: list[tuple[float, float, float, float]] = []
        for d in self.detections:
            rgb = color(d.class_id)
            draw.rectangle(d.box, outline=rgb, width=width)
            dot = max(1.0, min(width, (d.box[2] - d.box[0]) / 25))  # landmarks stay small on a small face
            for x, y in d.landmarks or ():
                draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=rgb)
            text = (f"id {d.track_id} " if d.track_id is not None else "") + f"{d.label} {d.score:.2f}"
            label_box(draw, (d.box[0], d.box[1]), text, rgb, fitted_size(text, d.box[2] - d.box[0], max(12, width * 6)),
                      taken)
        return canvas


def make_result(boxes: torch.Tensor, scores: torch.Tensor, class_ids: torch.Tensor, label_set: Any,
                source: str | None, image_size: tuple[int, int], masks: torch.Tensor | None = None) -> DetectionResult:
    """Tensors for one image (boxes already in original pixels) -> a DetectionResult, best first. Classes of
    COCO label sets get the canonical COCO name and category id (label, class_id); the model's own index is
    kept as model_class_id.

    `label_set`: a label set name, a LabelSet (`model.label_set()`: resolves in the model's own registry) or None."""
    if isinstance(label_set, str):
        labels: Any = categories(label_set)
    else:
        labels = label_set.labels if label_set is not None else None
    order = scores.argsort(descending=True, stable=True).tolist()  # stable: ties keep the model's order
    # one host copy of each column, then Python numbers: indexing tensors per detection cost ~30 us a box
    box_rows = [[float(v) for v in row] for row in boxes.tolist()]
    score_list = [float(v) for v in scores.tolist()]
    id_list = [int(c) for c in class_ids.tolist()]
    dets = []
    for i in order:
        cid = id_list[i]
        m = masks[i].cpu().numpy().astype(bool) if masks is not None else None
        coco = coco_class(labels, cid) if labels else None
        label, class_id = (coco[1], coco[0]) if coco else (labels[cid] if labels else str(cid), cid)
        dets.append(Detection(box_rows[i], label, class_id, score_list[i], m, model_class_id=cid))
    return DetectionResult(source, tuple(image_size), dets)


def threshold_masks(probs: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Soft masks [N, 1, H, W] or [N, H, W] in [0, 1] -> bool [N, H, W] (`> threshold`, as torchvision's COCO
    evaluation binarises Mask R-CNN's masks)."""
    if probs.ndim == 4:
        probs = probs[:, 0]
    return probs > threshold


def results_from_outputs(outputs: list[dict[str, torch.Tensor]], metas: list[Any], label_set: str | None,
                         conf: float = 0.0, mask_threshold: float = 0.5) -> list[DetectionResult]:
    """torchvision-style per-image dicts (`boxes` xyxy in original pixels, `scores`, `labels`, optional soft
    `masks`) -> DetectionResults, keeping detections scoring at least `conf`."""
    results = []
    for out, meta in zip(outputs, metas):
        keep = out["scores"] >= conf
        masks = out.get("masks")
        results.append(make_result(out["boxes"][keep].float().cpu(), out["scores"][keep].float().cpu(),
                                   out["labels"][keep].cpu(), label_set, meta.source, meta.orig_size,
                                   threshold_masks(masks[keep], mask_threshold).cpu() if masks is not None else None))
    return results


class Detector(ZooModel):
    """Base for detectors; families implement `postprocess(raw, metas, conf=..., iou=...)`."""

    default_conf = 0.25
