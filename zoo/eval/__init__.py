"""`zoo eval` / `zoo.evaluate`: score a model on a COCO-format folder (pycocotools: bbox, segm, keypoints by
task) or on an ImageNet-style class folder (top-1 / top-5).

    report = zoo.evaluate("faster-rcnn-r50-fpn", coco="coco/")        # COCO/annotations/instances_val2017.json
    report.metrics["bbox"]["AP"]

Under `torchrun --nproc_per_node N` each rank runs every N-th image and rank 0 scores the gathered
results, so the numbers equal a single process's. Nothing here imports torch at import time.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import InputError, ZooError

__all__ = ["EvalReport", "evaluate"]


@dataclass
class EvalReport:
    """What an evaluation measured; `metrics` maps a kind (bbox, segm, keypoints, classification) to numbers."""

    model: str
    weights: str
    task: str
    dataset: str
    kind: str  # coco | imagenet
    num_images: int
    metrics: dict[str, dict[str, float]]
    num_predictions: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # predictions of labels the dataset lacks
    world_size: int = 1
    images_per_rank: list[int] = field(default_factory=list)
    seconds: float = 0.0
    published: dict[str, dict[str, float]] = field(default_factory=dict)
    published_source: str = ""
    results_file: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _load_model(model: Any, weights: Any, pretrained: bool, device: str, options: dict[str, Any]) -> Any:
    import zoo

    if not isinstance(model, str):
        return model.to(device).eval()
    return zoo.load(model, pretrained=pretrained, weights=weights, device=device, **options)


def _auto_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=False)


def evaluate(model: Any, coco: str | Path | None = None, ann: str | Path | None = None,
             images: str | Path | None = None, imagenet: str | Path | None = None, split: str | None = None,
             limit: int | None = None, batch_size: int = 4, conf: float = 0.001, device: str = "auto",
             weights: str | Path | None = None, pretrained: bool = True, results: str | Path | None = None,
             progress: bool = True, **options: Any) -> EvalReport:
    """Run `model` (a name or a ZooModel) over a dataset and score it; `options` go to the model's builder."""
    from zoo.eval import datasets
    from zoo.eval.dist import setup

    if sum(x is not None for x in (coco, ann, imagenet)) != 1:
        raise InputError("give exactly one dataset: --coco DIR, --ann FILE --images DIR, or --imagenet DIR")
    if (ann is None) != (images is None):
        raise InputError("--ann and --images go together")
    if batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {batch_size}")
    dist, device = setup(_auto_device(device))
    try:
        # the dataset is read and checked on every rank, so a bad one fails everywhere before any collective
        if imagenet is None:
            ann_file, img_dir = datasets.find_coco(Path(coco), split) if coco is not None else (Path(ann), Path(images))
            data: Any = datasets.load_coco(ann_file, img_dir, limit)
        net = _load_model(model, weights, pretrained, device, options)
        spec = net.spec
        if imagenet is not None:
            if spec.task != "classification":
                raise InputError(f"{spec.name} is a {spec.task} model: --imagenet scores classifiers (use --coco)")
            from zoo.categories import categories

            data = datasets.load_folder(Path(imagenet), categories(spec.categories or "imagenet1k"), limit)
            return _run(net, data, "imagenet", dist, batch_size, conf, progress, results)
        if spec.task == "classification":
            raise InputError(f"{spec.name} is a classifier: score it with --imagenet DIR")
        return _run(net, data, "coco", dist, batch_size, conf, progress, results)
    finally:
        dist.close()


def _run(net: Any, data: Any, kind: str, dist: Any, batch_size: int, conf: float, progress: bool,
         results_path: str | Path | None) -> EvalReport:
    from zoo.eval import coco as cocomod

    spec = net.spec
    mine = dist.shard(data.images)
    cat_of: dict[int, int] = {}
    if kind == "coco":
        if spec.task == "keypoints":
            person = [int(c["id"]) for c in data.categories if c.get("name") == "person"]
            if not person:
                raise InputError(f"{data.ann_file}: no 'person' category to score keypoints against")
            cat_of = {0: person[0]}
        else:
            from zoo.categories import categories

            if not spec.categories:
                raise InputError(f"{spec.name} has no label set: cannot map its classes to category ids")
            cat_of = cocomod.label_map(categories(spec.categories), data.categories)
    start = time.perf_counter()
    per_image: dict[int, Any] = {}
    dropped: Counter[str] = Counter()
    error: str | None = None
    failure: BaseException | None = None
    label = f"{spec.name}" + (f" (rank 0 of {dist.world_size})" if dist.world_size > 1 else "")
    try:
        with _progress(progress and dist.main) as bar:
            job = bar.add_task(label, total=len(mine))
            for i in range(0, len(mine), batch_size):
                chunk = mine[i:i + batch_size]
                outs = net.predict([str(e.path) for e in chunk], conf=conf, topk=5)
                for e, r in zip(chunk, outs):
                    if kind == "coco":
                        per_image[e.image_id] = cocomod.to_coco(r, e.image_id, cat_of, dropped)
                    else:
                        ids = [p.class_id for p in r.topk]
                        per_image[e.image_id] = (e.target, ids[:1] == [e.target], e.target in ids[:5])
                bar.advance(job, len(chunk))
    except Exception as exc:  # every rank must still reach the gather below, or the others would hang
        if dist.world_size == 1:
            raise
        failure = exc
        error = str(exc) if isinstance(exc, ZooError) else f"{type(exc).__name__}: {exc}"
    gathered = dist.gather({"images": per_image, "dropped": dict(dropped), "count": len(mine), "error": error})
    seconds = time.perf_counter() - start
    if failure is not None:
        raise failure
    errors = [(rank, g["error"]) for rank, g in enumerate(gathered) if g["error"]]
    if errors:
        raise ZooError(f"rank {errors[0][0]} failed: {errors[0][1]}")
    merged: dict[int, Any] = {}
    total_dropped: Counter[str] = Counter()
    for g in gathered:
        merged.update(g["images"])
        total_dropped.update(g["dropped"])
    report = EvalReport(spec.name, getattr(net, "weights_source", ""), spec.task,
                        str(data.ann_file if kind == "coco" else data.root), kind, len(data.images), {},
                        dropped=dict(total_dropped), world_size=dist.world_size,
                        images_per_rank=[g["count"] for g in gathered], seconds=round(seconds, 3),
                        published=dict(spec.metrics), published_source=spec.metrics_source)
    if not dist.main:
        return report  # rank 0 scores; the other ranks return the unscored report
    order = [e.image_id for e in data.images]
    if kind == "coco":
        records = [r for image_id in order for r in merged[image_id]]
        report.num_predictions = len(records)
        types = cocomod.iou_types(spec.task, data.has_segmentation, data.has_keypoints)
        if spec.task == "keypoints" and not any("bbox" in r for r in records):
            types = [t for t in types if t != "bbox"]  # bottom-up pose models give no person boxes
        if spec.task == "instance-segmentation" and "segm" not in types:
            report.notes.append("the annotations hold no segmentations: masks are not scored")
        report.metrics = cocomod.score(data.data, records, types, order)
        if not records:
            report.notes.append("the model predicted nothing on these images (scores are 0)")
        if results_path is not None:
            _write_json(Path(results_path), records)
            report.results_file = str(results_path)
    else:
        rows = [merged[i] for i in order]
        n = len(rows)
        report.num_predictions = n
        report.metrics = {"classification": {"top1": 100.0 * sum(r[1] for r in rows) / n,
                                             "top5": 100.0 * sum(r[2] for r in rows) / n}}
        if results_path is not None:
            _write_json(Path(results_path), [{"image": str(e.path), "target": r[0], "top1": r[1], "top5": r[2]}
                                             for e, r in zip(data.images, rows)])
            report.results_file = str(results_path)
    if getattr(net, "weights_source", "") == "random init":
        report.notes.append("random weights: these scores measure nothing but the pipeline")
    return report


def _write_json(path: Path, obj: Any) -> None:
    import json
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
