"""Test helpers for `zoo eval`: a small COCO-format dataset drawn on the fly, and an "oracle" detector
that predicts (optionally perturbed) ground truth, so scores are known without a network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from pycocotools import mask as mask_utils

from zoo.model import ZooModel, as_image_list
from zoo.ops.resize import ImageMeta
from zoo.registry import Registry
from zoo.spec import ModelSpec
from zoo.tasks.detection import Detection, DetectionResult, Detector
from zoo.taskspec import Task, TaskOption

# real COCO ids and names; "motorcycle" is "motorbike" in the oracle's COCO-80 (Darknet) label set
CATEGORIES = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 4, "name": "motorcycle"},
              {"id": 13, "name": "stop sign"}, {"id": 18, "name": "dog"}]
H, W = 120, 160


def make_coco(root: Path, n: int = 6, seed: int = 0, split: str = "val2017", layout: str = "images") -> Path:
    """root/annotations/instances_<split>.json + images (root/images or root/<split>); returns the JSON path.
    Each image has 1-3 non-overlapping rectangles/ellipses; annotations carry bbox, RLE mask and area."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    img_dir = root / ("images" if layout == "images" else split)
    img_dir.mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    cells = [(r, c) for r in range(2) for c in range(3)]
    for i in range(n):
        canvas = Image.fromarray(rng.integers(0, 50, (H, W, 3), dtype=np.uint8))
        draw = ImageDraw.Draw(canvas)
        for k in rng.choice(len(cells), size=int(rng.integers(1, 4)), replace=False):
            r, c = cells[int(k)]
            x0, y0 = c * 53 + int(rng.integers(2, 12)), r * 60 + int(rng.integers(2, 12))
            x1, y1 = x0 + int(rng.integers(18, 38)), y0 + int(rng.integers(18, 44))
            shape = Image.new("L", (W, H))
            (ImageDraw.Draw(shape).rectangle if rng.random() < 0.5 else ImageDraw.Draw(shape).ellipse)([x0, y0, x1, y1], fill=1)
            m = np.array(shape, dtype=np.uint8)
            color = tuple(int(v) for v in rng.integers(80, 256, 3))
            draw.bitmap((0, 0), Image.fromarray(m * 255), fill=color)
            ys, xs = np.nonzero(m)
            rle = mask_utils.encode(np.asfortranarray(m))
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(rng.choice([c["id"] for c in CATEGORIES])),
                         "bbox": [float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min())],
                         "area": float(m.sum()), "iscrowd": 0,
                         "segmentation": {"size": [H, W], "counts": rle["counts"].decode("ascii")}})
        name = f"{i + 1:06d}.png"
        canvas.save(img_dir / name)
        images.append({"id": i + 1, "file_name": name, "height": H, "width": W})
    ann_file = root / "annotations" / f"instances_{split}.json"
    ann_file.write_text(json.dumps({"images": images, "annotations": anns, "categories": CATEGORIES}))
    return ann_file


def oracle_predictions(data: dict[str, Any], perturb: float = 0.0, false_positives: int = 0,
                       masks: bool = True) -> list[dict[str, Any]]:
    """COCO results derived from the ground truth: boxes jittered by up to `perturb` of their size, masks
    shifted with them, varied scores, plus `false_positives` wrong boxes per image. Deterministic."""
    out = []
    for a in data["annotations"]:
        g = np.random.default_rng(a["id"])
        x, y, w, h = a["bbox"]
        dx, dy = (g.random(2) - 0.5) * 2 * perturb * np.array([w, h])
        sw, sh = 1 + (g.random(2) - 0.5) * 2 * perturb
        rec = {"image_id": a["image_id"], "category_id": a["category_id"],
               "bbox": [float(x + dx), float(y + dy), float(w * sw), float(h * sh)], "score": float(0.3 + 0.7 * g.random())}
        if masks:
            m = mask_utils.decode({"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()})
            m = np.roll(m, (int(round(dy)), int(round(dx))), axis=(0, 1))
            rle = mask_utils.encode(np.asfortranarray(m))
            rec["segmentation"] = {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}
        out.append(rec)
    for img in data["images"]:
        g = np.random.default_rng(10_000 + img["id"])
        for _ in range(false_positives):
            x, y = g.random(2) * [W - 30, H - 30]
            rec = {"image_id": img["id"], "category_id": CATEGORIES[int(g.integers(len(CATEGORIES)))]["id"],
                   "bbox": [float(x), float(y), 25.0, 25.0], "score": float(0.2 + 0.5 * g.random())}
            if masks:
                m = np.zeros((H, W), np.uint8)
                m[int(y):int(y) + 25, int(x):int(x) + 25] = 1
                rle = mask_utils.encode(np.asfortranarray(m))
                rec["segmentation"] = {"size": [H, W], "counts": rle["counts"].decode("ascii")}
            out.append(rec)
    return out


class OracleDetector(Detector):
    """Answers with `oracle_predictions` for the image's file name, in the COCO-80 label space."""

    def __init__(self, spec: ModelSpec, ann_file: str, perturb: float = 0.0, false_positives: int = 0,
                 masks: bool = True):
        super().__init__(spec, torch.nn.Identity())
        from zoo.categories import canonical_label, categories

        data = json.loads(Path(ann_file).read_text())
        labels = categories(spec.categories)
        name_of = {c["id"]: c["name"] for c in data["categories"]}
        index = {canonical_label(label): i for i, label in enumerate(labels)}
        self.class_of = {cid: index[canonical_label(n)] for cid, n in name_of.items()}
        self.labels = labels
        files = {img["id"]: img for img in data["images"]}
        self.by_file: dict[str, list[dict[str, Any]]] = {img["file_name"]: [] for img in data["images"]}
        for rec in oracle_predictions(data, perturb, false_positives, masks):
            self.by_file[files[rec["image_id"]]["file_name"]].append(rec)
        self.sizes = {img["file_name"]: (img["height"], img["width"]) for img in data["images"]}
        self.weights_source = "oracle"

    def preprocess(self, images: Any) -> tuple[list[str], list[ImageMeta]]:
        names = [Path(str(p)).name for p in as_image_list(images)]
        return names, [ImageMeta(self.sizes[n], self.sizes[n], source=str(p)) for n, p in zip(names, as_image_list(images))]

    def forward(self, batch: list[str]) -> list[str]:
        return batch

    def postprocess(self, raw: list[str], metas: list[ImageMeta], conf: float = 0.0) -> list[DetectionResult]:
        out = []
        for name, meta in zip(raw, metas):
            dets = []
            for rec in self.by_file[name]:
                if rec["score"] < conf:
                    continue
                x, y, w, h = rec["bbox"]
                cid = self.class_of[rec["category_id"]]
                mask = None
                if "segmentation" in rec:
                    seg = rec["segmentation"]
                    mask = mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)
                dets.append(Detection([x, y, x + w, y + h], self.labels[cid], cid, rec["score"], mask))
            out.append(DetectionResult(meta.source, meta.orig_size, dets))
        return out


def build_oracle(spec: ModelSpec, **options: Any) -> OracleDetector:
    return OracleDetector(spec, **options)


def oracle_spec(ann_file: Path, name: str = "oracle", **options: Any) -> ModelSpec:
    return ModelSpec(name=name, family="test", task="instance-segmentation", builder=build_oracle,
                     categories="coco80", options={"ann_file": str(ann_file), **options}, source="tests/evalkit.py")


def oracle(ann_file: Path, **options: Any) -> OracleDetector:
    """An oracle ZooModel object (zoo.evaluate takes models as well as names)."""
    import zoo

    return zoo.build(oracle_spec(ann_file, **options))


def pycocotools_direct(ann_file: Path, results: list[dict[str, Any]], iou_type: str, tmp: Path) -> list[float]:
    """Score results with pycocotools alone: COCO(file), loadRes(file), COCOeval."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    res_file = tmp / f"results-{iou_type}.json"
    res_file.write_text(json.dumps(results))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_file))
        dt = gt.loadRes(str(res_file))
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


def make_keypoint_coco(root: Path, n: int = 3, seed: int = 0) -> Path:
    """A COCO person-keypoints dataset: 1-2 people per image, 17 visible keypoints inside each box."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root / "images" / f"{i + 1:06d}.png")
        images.append({"id": i + 1, "file_name": f"{i + 1:06d}.png", "height": H, "width": W})
        for k in range(int(rng.integers(1, 3))):
            x, y, w, h = 10 + 75 * k, 10.0, 50.0, 90.0
            pts = np.stack([x + rng.random(17) * w, y + rng.random(17) * h, np.full(17, 2.0)], 1)
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "bbox": [x, y, w, h], "area": w * h,
                         "iscrowd": 0, "num_keypoints": 17, "keypoints": [float(v) for v in pts.reshape(-1)]})
    ann_file = root / "annotations" / "instances_val2017.json"  # the zoo looks for instances_*.json
    ann_file.write_text(json.dumps({"images": images, "annotations": anns,
                                    "categories": [{"id": 1, "name": "person", "keypoints": [f"k{j}" for j in range(17)]}]}))
    return ann_file


class _Person:
    def __init__(self, keypoints: list[list[float]], score: float, box: list[float] | None):
        self.keypoints, self.score, self.box = keypoints, score, box


class _PoseResult:
    def __init__(self, people: list[_Person]):
        self.people = people


# A task the core does not have, as a plugin would add it (zoo_register_tasks): scored with OKS on COCO.
TOY_KEYPOINTS = Task("toy-keypoints", "image -> people's keypoints (test task)", "evalkit:_PoseResult",
                     options=(TaskOption("min_score", "float", "drop people below this score"),),
                     scorer="zoo.eval.scorers:CocoKeypoints", dataset="coco")


def keypoint_registry() -> Registry:
    """A fresh registry with the built-in tasks plus TOY_KEYPOINTS."""
    reg = Registry()
    reg.add_task(TOY_KEYPOINTS)
    return reg


class KeypointOracle(ZooModel):
    """A keypoint model answering with the ground-truth people (boxes optional)."""

    def __init__(self, ann_file: Path, boxes: bool = True):
        super().__init__(ModelSpec(name="pose-oracle", family="test", task="toy-keypoints", builder="x:y",
                                   categories="coco17-keypoints"), torch.nn.Identity())
        data = json.loads(Path(ann_file).read_text())
        self.weights_source = "oracle"
        names = {img["id"]: img["file_name"] for img in data["images"]}
        self.by_file: dict[str, list[_Person]] = {n: [] for n in names.values()}
        for a in data["annotations"]:
            kps = np.asarray(a["keypoints"]).reshape(17, 3)
            kps[:, 2] = 0.9
            x, y, w, h = a["bbox"]
            self.by_file[names[a["image_id"]]].append(_Person(kps.tolist(), 0.9, [x, y, x + w, y + h] if boxes else None))

    def preprocess(self, images: Any) -> tuple[list[str], list[ImageMeta]]:
        items = as_image_list(images)
        return [Path(str(p)).name for p in items], [ImageMeta((H, W), (H, W), source=str(p)) for p in items]

    def forward(self, batch: list[str]) -> list[str]:
        return batch

    def postprocess(self, raw: list[str], metas: list[ImageMeta], min_score: float = 0.0) -> list[_PoseResult]:
        return [_PoseResult([p for p in self.by_file[n] if p.score >= min_score]) for n in raw]
