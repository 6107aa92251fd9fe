"""`zoo eval` / `zoo.evaluate`: score a model on a COCO-format folder (pycocotools: bbox, segm, keypoints by
task) or on an ImageNet-style class folder (top-1 / top-5).

    report = zoo.evaluate("faster-rcnn-r50-fpn", coco="coco/")        # COCO/annotations/instances_val2017.json
    report.metrics["bbox"]["AP"]

Under `torchrun --nproc_per_node N` each rank runs every N-th image and rank 0 scores the gathered
results, so the numbers equal a single process's. Nothing here imports torch at import time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ArgumentError, InputError, ZooError, at_least
from zoo.fsutil import write_json_atomic

__all__ = ["EvalReport", "evaluate"]

EVAL_CONF = 0.001  # COCO evaluation keeps low-scoring boxes: AP integrates over the whole precision-recall curve


@dataclass
class EvalReport:
    """What an evaluation measured; `metrics` maps a kind (bbox, segm, keypoints, classification) to numbers."""

    model: str
    weights: str
    task: str
    dataset: str
    kind: str  # coco | imagenet
    num_images: int
    metrics: dict[str, dict[str, float]]  # in percent (COCO AP/AR and top-k alike; -1: no ground truth)
    num_predictions: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # predictions of labels the dataset lacks
    world_size: int = 1
    images_per_rank: list[int] = field(default_factory=list)
    seconds: float = 0.0
    published: dict[str, dict[str, float]] = field(default_factory=dict)
    published_source: str = ""
    results_file: str | None = None
    notes: list[str] = field(default_factory=list)
    units: str = "percent"  # of `metrics`, as of the registry's published metrics

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _load_model(model: Any, weights: Any, pretrained: bool, device: str, options: dict[str, Any],
                registry: Any) -> Any:
    from zoo.api import load

    if not isinstance(model, str):
        return model.to(device).eval()
    return load(model, pretrained=pretrained, weights=weights, device=device, registry=registry, **options)


def evaluate(model: Any, coco: str | Path | None = None, ann: str | Path | None = None,
             images: str | Path | None = None, imagenet: str | Path | None = None, split: str | None = None,
             limit: int | None = None, batch_size: int = 4, conf: float | None = None, device: str = "auto",
             weights: str | Path | None = None, pretrained: bool = True, results: str | Path | None = None,
             progress: Callable[[int, int], None] | None = None, registry: Any = None, *, backend: str = "torch", precision: str = "fp32",
             threads: int | None = None, calibration: str | Path | None = None, **options: Any) -> EvalReport:
    """Run `model` (a name or a ZooModel) over a dataset and score it with its task's scorer;
    `options` go to the model's builder; `backend` / `precision` / `threads` / `calibration` (int8's photos) as in zoo.runtimes.with_backend.
    `progress(done, total)` is called as images finish (on rank 0 only; `zoo eval` draws a bar with it)."""
    from zoo.devices import resolve_device
    from zoo.eval import datasets
    from zoo.eval.dist import setup
    from zoo.plugin_manager import default_registry
    from zoo.refs import resolve_ref

    if sum(x is not None for x in (coco, ann, imagenet)) != 1:
        raise ArgumentError(("coco", "ann", "images", "imagenet"),
                            "give exactly one dataset: {} DIR, {} FILE with {} DIR, or {} DIR")
    if (ann is None) != (images is None):
        raise ArgumentError(("ann", "images"), "{} and {} go together")
    at_least("batch_size", batch_size)
    at_least("limit", limit)
    if conf is not None and not (isinstance(conf, (int, float)) and math.isfinite(conf) and 0 <= conf <= 1):
        raise ArgumentError("conf", f"{{}} must be a number in [0, 1], got {conf}")
    if weights is not None and not pretrained:
        raise ArgumentError(("weights", "pretrained=False"), "{} FILE and {} contradict each other: give one")
    if backend != "torch" or precision != "fp32":
        from zoo.runtimes import check_backend, check_precision

        check_precision(check_backend(backend), precision)
    registry = default_registry() if registry is None else registry
    kind = "imagenet" if imagenet is not None else "coco"
    spec = model.spec if not isinstance(model, str) else registry.get(model)
    task = registry.task(spec.task)
    if task.scorer is None:
        raise InputError(f"{spec.name} is a {task.name} model: zoo eval has no scorer for that task")
    if conf is not None and task.option("conf") is None:
        raise ArgumentError("conf", f"{{}}: not an option of {task.name} models ({spec.name} keeps every prediction "
                                    "it ranks)")
    conf = EVAL_CONF if conf is None else conf
    if isinstance(model, str):  # an unknown --set KEY fails before the dataset is read
        from zoo.api import _check_builder_options

        _check_builder_options(spec, resolve_ref(spec.builder), {**spec.options, **options})
    if task.dataset == "coco" != kind:
        raise ArgumentError(("coco", "ann", "images"),
                            f"{spec.name} is a {task.name} model: score it with {{}} DIR (or {{}} FILE with {{}} DIR)")
    if task.dataset == "imagenet" != kind:
        raise ArgumentError("imagenet", f"{spec.name} is a {task.name} model: score it with {{}} DIR")
    if task.dataset != kind:
        raise InputError(f"{spec.name} is a {task.name} model: score it with {task.dataset} data")
    dist, device = setup(str(resolve_device(device)), auto=str(device).strip().lower() in ("", "auto"))
    try:
        # the dataset is read and checked on every rank, so a bad one fails everywhere before any collective
        if kind == "coco":
            ann_file, img_dir = datasets.find_coco(Path(coco), split) if coco is not None else (Path(ann), Path(images))
            data: Any = datasets.load_coco(ann_file, img_dir, limit)
        else:
            from zoo.categories import categories

            data = datasets.load_folder(Path(imagenet), categories(spec.categories or "imagenet1k", registry), limit)
        scorer = resolve_ref(task.scorer, "scorer")(spec, data, registry)
        net = _load_model(model, weights, pretrained, device, options, registry)
        if backend != "torch" or precision != "fp32":
            from zoo.runtimes import with_backend

            net = with_backend(net, backend, precision=precision, threads=threads, calibration=calibration)
        report = _run(net, data, scorer, dist, batch_size, conf, progress, results)
        if backend != "torch" or precision != "fp32":
            report.notes.append(f"the network ran on {backend} at {precision}")
            guard = (getattr(net, "backend_info", None) or {}).get("guard")
            if guard:  # the reduced precision's accuracy guard on the calibration photos (zoo.runtimes.guard)
                from zoo.runtimes.guard import judged_on

                report.notes.append(f"accuracy guard ({judged_on(guard)}): "
                                    + ("same answers as fp32" if guard["same"] else f"CHANGES answers: {guard['summary']}"))
        return report
    finally:
        dist.close()


def _run(net: Any, data: Any, scorer: Any, dist: Any, batch_size: int, conf: float,
         progress: Callable[[int, int], None] | None, results_path: str | Path | None) -> EvalReport:
    from zoo.data.loader import takes_device_images
    from zoo.data.predict import predict_files
    from zoo.images import InputFile

    spec = net.spec
    mine = dist.shard(data.images)
    opts = scorer.predict_options(net, conf)
    start = time.perf_counter()
    per_image: dict[int, Any] = {}
    error: str | None = None
    failure: BaseException | None = None
    report_progress = progress if callable(progress) and dist.main else None
    files = [InputFile(Path(e.path), str(e.path), Path(Path(e.path).name)) for e in mine]
    try:
        # the library's predict loop (DataLoader workers decode the next batch while the model runs this one); a
        # model with its own preprocess reads the paths itself, as before (no second read to check them)
        predictions = predict_files(net, files, batch_size, options=opts, check=takes_device_images(net))
        for done, (e, p) in enumerate(zip(mine, predictions), 1):  # one prediction per image, in order
            if p.error is not None:
                raise InputError(p.error)
            per_image[e.image_id] = scorer.record(p.result, e)
            if report_progress is not None:
                report_progress(done, len(mine))
    except Exception as exc:  # every rank must still reach the gather below, or the others would hang
        if dist.world_size == 1:
            raise
        failure = exc
        error = str(exc) if isinstance(exc, ZooError) else f"{type(exc).__name__}: {exc}"
    gathered = dist.gather({"images": per_image, "count": len(mine), "error": error})
    seconds = time.perf_counter() - start
    if failure is not None:
        raise failure
    errors = [(rank, g["error"]) for rank, g in enumerate(gathered) if g["error"]]
    if errors:
        raise ZooError(f"rank {errors[0][0]} failed: {errors[0][1]}")
    merged: dict[int, Any] = {}
    for g in gathered:
        merged.update(g["images"])
    report = EvalReport(spec.name, getattr(net, "weights_source", ""), spec.task,
                        str(getattr(data, "ann_file", None) or data.root), scorer.dataset, len(data.images), {},
                        world_size=dist.world_size, images_per_rank=[g["count"] for g in gathered],
                        seconds=round(seconds, 3), published=dict(spec.metrics), published_source=spec.metrics_source)
    if not dist.main:
        return report  # rank 0 scores; the other ranks return the unscored report
    rows = scorer.score(data, [merged[e.image_id] for e in data.images], report)
    if results_path is not None:
        write_json_atomic(Path(results_path), rows)
        report.results_file = str(results_path)
    if getattr(net, "weights_source", "") == "random init":
        report.notes.append("random weights: these scores measure nothing but the pipeline")
    return report
