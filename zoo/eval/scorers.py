"""How `zoo eval` scores each task: a task names its scorer (zoo/taskspec.py), the evaluation loop
knows none of them. A scorer is made per run from (spec, dataset, registry) and has

    dataset                      the dataset kind it reads: "coco" or "imagenet"
    predict_options(model, conf) options for model.predict during the run
    record(result, entry)        one image's result -> a picklable record (gathered across torchrun ranks)
    score(records, report)       records in dataset order -> report.metrics etc.; returns rows for --results

Third-party tasks may name their own scorer class with the same methods.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from zoo.errors import InputError


def _conf_option(model: Any, conf: float) -> dict[str, Any]:
    return {"conf": conf} if "conf" in model.options() else {}


class TopK:
    """ImageNet-style folders: top-1 / top-5 accuracy in percent."""

    dataset = "imagenet"

    def __init__(self, spec: Any, data: Any, registry: Any = None):
        self.spec = spec

    def predict_options(self, model: Any, conf: float) -> dict[str, Any]:
        return {"topk": 5}

    def record(self, result: Any, entry: Any) -> tuple[int, bool, bool]:
        ids = [p.class_id for p in result.topk]
        return (entry.target, ids[:1] == [entry.target], entry.target in ids[:5])

    def score(self, data: Any, records: list[Any], report: Any) -> list[dict[str, Any]]:
        n = len(records)
        report.num_predictions = n
        report.metrics = {"classification": {"top1": 100.0 * sum(r[1] for r in records) / n,
                                             "top5": 100.0 * sum(r[2] for r in records) / n}}
        return [{"image": str(e.path), "target": r[0], "top1": r[1], "top5": r[2]} for e, r in zip(data.images, records)]


class CocoBoxes:
    """COCO-format datasets scored with pycocotools' COCOeval; class ids map to category ids by name."""

    dataset = "coco"
    types: tuple[str, ...] = ("bbox",)
    answers = "detections"  # what its results hold (the Task's `answers`): how they become COCO records

    def __init__(self, spec: Any, data: Any, registry: Any = None):
        from zoo.categories import categories
        from zoo.eval import coco

        self.spec = spec
        if not spec.categories:
            raise InputError(f"{spec.name} has no label set: cannot map its classes to category ids")
        self.cat_of = coco.label_map(categories(spec.categories, registry), data.categories)

    def predict_options(self, model: Any, conf: float) -> dict[str, Any]:
        return _conf_option(model, conf)

    def record(self, result: Any, entry: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
        from zoo.eval import coco

        dropped: Counter[str] = Counter()
        return coco.to_coco(result, entry.image_id, self.cat_of, dropped, self.answers), dict(dropped)

    def iou_types(self, data: Any, records: list[dict[str, Any]], notes: list[str]) -> list[str]:
        return list(self.types)

    def score(self, data: Any, records: list[Any], report: Any) -> list[dict[str, Any]]:
        from zoo.eval import coco

        flat = [r for recs, _ in records for r in recs]
        dropped: Counter[str] = Counter()
        for _, d in records:
            dropped.update(d)
        report.dropped = dict(dropped)
        report.num_predictions = len(flat)
        types = self.iou_types(data, flat, report.notes)
        raw = coco.score(data.data, flat, types, [e.image_id for e in data.images])
        # percent, like the registry's published numbers and top-k (pycocotools' -1, "no ground truth", stays)
        report.metrics = {t: {k: (100.0 * v if v >= 0 else v) for k, v in m.items()} for t, m in raw.items()}
        if not flat:
            report.notes.append("the model predicted nothing on these images (scores are 0)")
        return flat


class CocoMasks(CocoBoxes):
    """Instance segmentation: boxes, and masks where the annotations hold segmentations."""

    def iou_types(self, data: Any, records: list[dict[str, Any]], notes: list[str]) -> list[str]:
        if data.has_segmentation:
            return ["bbox", "segm"]
        notes.append("the annotations hold no segmentations: masks are not scored")
        return ["bbox"]


class CocoKeypoints(CocoBoxes):
    """Person keypoints scored with OKS; boxes too when the model gives them (bottom-up models do not)."""

    answers = "people"

    def __init__(self, spec: Any, data: Any, registry: Any = None):
        from zoo.categories import label_set

        self.spec = spec
        person = [c for c in data.categories if c.get("name") == "person"]
        if not person:
            raise InputError(f"{data.ann_file}: no 'person' category to score keypoints against")
        self.cat_of = {0: int(person[0]["id"])}
        ours = len(label_set(spec.categories, registry).keypoints) if spec.categories else 0
        theirs = len(person[0].get("keypoints", []))
        if ours and theirs and ours != theirs:
            raise InputError(f"{spec.name} predicts {ours} keypoints but {data.ann_file} annotates {theirs}: "
                             "OKS needs the same keypoints")

    def iou_types(self, data: Any, records: list[dict[str, Any]], notes: list[str]) -> list[str]:
        types = ["bbox", "keypoints"] if data.has_keypoints else ["bbox"]
        if not any("bbox" in r for r in records) and "keypoints" in types:
            types.remove("bbox")  # bottom-up pose models give no person boxes
        return types
