"""Human keypoint results (COCO-17), shared by every pose family: top-down (Keypoint R-CNN), bottom-up
(OpenPose) and third-party ones.

A `KeypointResult` holds `people`; each `Person` has a `box` (x1, y1, x2, y2, or None for models that give
none), a `score`, `keypoints` as a 17 x 3 array of (x, y, score) in COCO-17 order and input-image pixels, and
an optional `track_id` (set by `zoo track`). `zoo.eval.coco.to_coco` reads exactly these attributes, so
results are scored with OKS without an adapter. Joint scores are on the model's own scale (OpenPose: heatmap
values in [0, 1]; Keypoint R-CNN: heatmap logits); a joint the model did not find has score 0 and sits at
(0, 0), as COCO result files write it, and `draw` skips joints scoring at or below `joint_threshold`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo.model import ZooModel
from zoo.tasks.coco_keypoints import COCO_KEYPOINTS, COCO_SKELETON, LABEL_SET
from zoo.tasks.results import Result, color, label_box

NUM_KEYPOINTS = len(COCO_KEYPOINTS)
__all__ = ["COCO_KEYPOINTS", "COCO_SKELETON", "LABEL_SET", "KeypointModel", "KeypointResult", "Person"]

# Limb colours by side of the body, so left and right read apart in a drawing.
_LEFT, _RIGHT, _CENTRE = (0, 160, 255), (255, 120, 0), (80, 220, 80)


def _side_color(a: int, b: int) -> tuple[int, int, int]:
    names = COCO_KEYPOINTS[a] + COCO_KEYPOINTS[b]
    if "left" in names and "right" not in names:
        return _LEFT
    if "right" in names and "left" not in names:
        return _RIGHT
    return _CENTRE


LIMB_COLORS = tuple(_side_color(a, b) for a, b in COCO_SKELETON)


@dataclass
class Person:
    """One person: keypoints (17, 3) float32 = (x, y, score) in COCO-17 order and input-image pixels."""

    keypoints: np.ndarray
    score: float
    box: list[float] | None = None  # [x1, y1, x2, y2] in input-image pixels; None if the model gives none
    track_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # family-specific JSON-ready data (e.g. OpenPose's 18 points)

    def __post_init__(self) -> None:
        kps = np.asarray(self.keypoints, dtype=np.float32)
        if kps.shape != (NUM_KEYPOINTS, 3):
            raise ValueError(f"keypoints must be {NUM_KEYPOINTS} x 3 (x, y, score), got shape {kps.shape}")
        self.keypoints = kps
        self.score = float(self.score)
        if self.box is not None:
            self.box = [float(v) for v in self.box]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"score": round(self.score, 6),
                               "box": None if self.box is None else [round(v, 2) for v in self.box],
                               "keypoints": [[round(float(x), 2), round(float(y), 2), round(float(s), 6)]
                                             for x, y, s in self.keypoints]}
        if self.track_id is not None:
            out["track_id"] = int(self.track_id)
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Person:
        known = {"score", "box", "keypoints", "track_id"}
        return cls(np.asarray(data["keypoints"], dtype=np.float32), data["score"], data.get("box"),
                   data.get("track_id"), {k: v for k, v in data.items() if k not in known})

    def visible(self, threshold: float = 0.0) -> np.ndarray:
        """Bool (17,): joints scoring above `threshold`."""
        return self.keypoints[:, 2] > threshold

    def joint_box(self, threshold: float = 0.0) -> list[float] | None:
        """The tight box around the joints above `threshold` (None when there are none)."""
        pts = self.keypoints[self.visible(threshold), :2]
        if not len(pts):
            return None
        return [float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())]


@dataclass
class KeypointResult(Result):
    people: list[Person] = field(default_factory=list)
    joint_threshold: float = 0.0  # joints scoring at or below this are drawn as missing (model's score scale)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "image_size": list(self.image_size), "keypoint_names": list(COCO_KEYPOINTS),
                "joint_threshold": self.joint_threshold, "people": [p.to_json() for p in self.people]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeypointResult:
        return cls(data.get("source"), tuple(data["image_size"]), [Person.from_json(p) for p in data["people"]],
                   float(data.get("joint_threshold", 0.0)))

    def rows(self) -> tuple[list[str], list[list[Any]]]:
        cols = ["person", "score", "joints", "box x1,y1,x2,y2"]
        tracked = any(p.track_id is not None for p in self.people)
        if tracked:
            cols.insert(1, "track")
        rows = []
        for i, p in enumerate(self.people):
            box = "" if p.box is None else ", ".join(f"{v:.1f}" for v in p.box)
            row: list[Any] = [i, f"{p.score:.3f}", f"{int(p.visible(self.joint_threshold).sum())}/{NUM_KEYPOINTS}", box]
            if tracked:
                row.insert(1, "" if p.track_id is None else p.track_id)
            rows.append(row)
        return cols, rows

    def draw(self, image: Any = None, joint_threshold: float | None = None) -> Any:
        """The COCO skeleton over the image: limbs coloured by body side, joints, box and score/track id."""
        from PIL import ImageDraw

        thr = self.joint_threshold if joint_threshold is None else joint_threshold
        canvas = self._canvas(image)
        d = ImageDraw.Draw(canvas)
        width = max(2, round(max(canvas.size) / 250))
        radius = width + 1
        taken: list[tuple[float, float, float, float]] = []  # labels drawn so far: none hides another
        for i, p in enumerate(self.people):
            ok = p.visible(thr)
            kps = p.keypoints
            for (a, b), rgb in zip(COCO_SKELETON, LIMB_COLORS):
                if ok[a] and ok[b]:
                    d.line([(float(kps[a, 0]), float(kps[a, 1])), (float(kps[b, 0]), float(kps[b, 1]))], fill=rgb,
                           width=width)
            for j in np.flatnonzero(ok):
                x, y = float(kps[j, 0]), float(kps[j, 1])
                d.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(255, 255, 255), outline=(0, 0, 0))
            rgb = color(p.track_id if p.track_id is not None else i)
            if p.box is not None:
                d.rectangle(p.box, outline=rgb, width=max(1, width // 2))
            anchor = p.box[:2] if p.box is not None else (p.joint_box(thr) or [0.0, 0.0])[:2]
            text = (f"id {p.track_id} " if p.track_id is not None else "") + f"{p.score:.2f}"
            label_box(d, (anchor[0], anchor[1]), text, rgb, max(12, width * 5), taken)
        return canvas


class KeypointModel(ZooModel):
    """Base of pose models: `postprocess` returns one KeypointResult per image. `joint_threshold` is the
    family's joint score below which a joint counts as not found (drawing and tracking use it)."""

    default_conf = 0.0
    joint_threshold = 0.0
