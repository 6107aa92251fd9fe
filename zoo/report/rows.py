"""The data the index and model pages are built from: one ModelRow per model (card fields, weights status, the
published metric the charts use, the best latency measured on this machine)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from zoo.bench.report import FORWARD
from zoo.report.history import Measurement
from zoo.report.pins import pin_summary

# the metric each task's accuracy chart plots, most preferred first (names as registry.yaml spells them)
PRIMARY_METRICS = {
    "classification": ("top1", "acc1"),
    "detection": ("box_ap", "box_ap50", "box_map50"),
    "instance-segmentation": ("mask_ap", "box_ap"),
    "keypoints": ("kp_ap",),
    "embedding": ("accuracy",),
}
SAME_METRIC = {"acc1": "top1"}  # torchvision's name for ImageNet top-1 in some rows


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    dataset: str
    source: str


@dataclass(frozen=True)
class ModelRow:
    name: str
    family: str
    task: str
    params: int | None
    gmacs: float | None
    metric: Metric | None
    weights: str  # "cached", "download" (a source the zoo fetches from), "import" (a file you bring), "none"
    weights_text: str
    weights_hint: str  # the command that gets them
    pinned: str
    best: Measurement | None  # fastest ok forward row at batch size 1 on this machine

    @property
    def has_weights(self) -> bool:
        return self.weights != "none"


def primary_metric(spec: Any) -> Metric | None:
    """The task's preferred published metric (first dataset that has it), with its source."""
    for wanted in PRIMARY_METRICS.get(spec.task, ()):
        for dataset, scores in spec.metrics.items():
            for name, value in scores.items():
                if SAME_METRIC.get(name, name) == wanted:
                    return Metric(wanted, float(value), dataset, spec.metrics_source)
    return None


def weights_status(spec: Any, is_cached: Callable[[Any, Any], bool]) -> tuple[str, str]:
    """(status, text): cached here, downloadable, import-only, or none."""
    cached = [w.tag for w in spec.weights if is_cached(spec, w)]
    if cached:
        return "cached", "cached: " + ", ".join(cached)
    if spec.pretrained:  # which sources: the default weights' (hub, url, torchvision, in the order tried)
        w = spec.default_weights()
        kinds = "+".join(dict.fromkeys(s.kind for s in getattr(w, "all_sources", ()))) if w is not None else ""
        return "download", f"downloadable ({kinds})" if kinds else "downloadable"
    if spec.weights:
        return "import", "bring the file"
    return "none", "none (random init)"


def weights_hint(spec: Any, status: str) -> str:
    """The command behind a weights status (the index shows it on hover)."""
    return {"download": f"zoo download {spec.name}", "import": f"zoo import {spec.name} FILE",
            "none": "no published weights: the model builds with random init"}.get(status, "cached on this machine")


def best_here(model: str, measurements: Iterable[Measurement]) -> Measurement | None:
    """The fastest ok forward row at batch size 1 measured on this machine (any backend or precision)."""
    mine = [m for m in measurements if m.model == model and m.this_machine and m.ok and m.kind == FORWARD
            and m.batch_size == 1 and not m.variant]
    return min(mine, key=lambda m: m.p50_ms or 0.0) if mine else None


def model_rows(specs: Iterable[Any], measurements: list[Measurement],
               is_cached: Callable[[Any, Any], bool]) -> list[ModelRow]:
    out = []
    for s in specs:
        status, text = weights_status(s, is_cached)
        out.append(ModelRow(s.name, s.family, s.task, s.num_params, s.gmacs, primary_metric(s), status, text,
                            weights_hint(s, status), pin_summary(s), best_here(s.name, measurements)))
    return out
