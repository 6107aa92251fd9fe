"""Tasks as objects: what a task's models take and return, the predict options they accept, and how
`zoo eval` scores them. `predict`, `eval`, `bench` and the CLI look a task up here instead of branching on
its name, so a new task (built-in or from a plugin's `zoo_register_tasks`) is one more `Task`.

Torch-free: `zoo list` validates specs' tasks against this catalogue without importing torch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from zoo.errors import InputError, SpecError

INPUT_KINDS = ("images", "latents")  # what `preprocess` takes: images, or a request for latents (generators)
# What a task's results hold, which says how two of them are compared (zoo.tasks.parity) and what `zoo track`
# follows: top-k labels, detections (boxes with classes), people (keypoints), images, embedding vectors.
ANSWER_KINDS = ("topk", "detections", "people", "images", "embedding")
OPTION_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class TaskOption:
    """One predict option of a task's models; the CLI turns it into `--name` (underscores as dashes)."""

    name: str
    type: str = "float"  # int | float | str | bool
    help: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None  # smallest value allowed (inclusive), None: unbounded
    high: float | None = None  # largest value allowed (inclusive)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any, cli: bool = False) -> None:
        """Refuse a value of the wrong kind or outside [low, high] (NaN included) in one line, instead of a
        raw torch error later or a silently meaningless result."""
        what = self.flag if cli else self.name
        if value is None or self.type == "str":
            if self.choices and value is not None and value not in self.choices:
                raise InputError(f"{what} must be one of {', '.join(self.choices)}, got {value!r}")
            return
        if self.type == "bool":
            return
        if self.type == "int" and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            if self.name == "size" and isinstance(value, (tuple, list)) and len(value) == 2:  # (height, width)
                for v in value:
                    self.check(v, cli)
                return
            raise InputError(f"{what} must be an integer, got {value!r}")
        if self.type == "float" and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise InputError(f"{what} must be a number, got {value!r}")
        if not math.isfinite(value) or (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            if self.low is not None and self.high is not None:
                want = f"a number in [{self.low:g}, {self.high:g}]"
            elif self.low is not None:
                want = f"at least {self.low:g}"
            else:
                want = f"at most {self.high:g}" if self.high is not None else "finite"
            raise InputError(f"{what} must be {want}, got {value}")

    def __post_init__(self) -> None:
        if self.type not in OPTION_TYPES:
            raise SpecError(f"task option '{self.name}': type {self.type!r} is not one of {', '.join(OPTION_TYPES)}")


@dataclass(frozen=True)
class Task:
    """A task: its result type, input kind, predict options, and `zoo eval` scorer.

    `scorer` is a "module:callable" taking (spec, dataset, registry) and returning a scorer object with
    `record(result, entry)` and `score(records, report)` (see zoo/eval/scorers.py); `dataset` names the
    kind of dataset it reads ("coco" or "imagenet"). A task without a scorer cannot be evaluated.
    `answers` (one of ANSWER_KINDS, or None) says what its results hold: zoo.tasks.parity compares two results
    by it (a task without one is compared on its results' JSON). `hub_tag` is the Hugging Face Hub pipeline
    tag its model cards carry (https://huggingface.co/docs/hub/models-widgets#widget-usage), None for none.
    """

    name: str
    description: str
    result: str  # "module:Class" of the per-input result type
    inputs: str = "images"
    options: tuple[TaskOption, ...] = ()
    scorer: str | None = None
    dataset: str | None = None
    source: str = "zoo"
    answers: str | None = None
    hub_tag: str | None = None

    def __post_init__(self) -> None:
        if self.inputs not in INPUT_KINDS:
            raise SpecError(f"task '{self.name}': inputs {self.inputs!r} is not one of {', '.join(INPUT_KINDS)}")
        if self.answers is not None and self.answers not in ANSWER_KINDS:
            raise SpecError(f"task '{self.name}': answers {self.answers!r} is not one of {', '.join(ANSWER_KINDS)}")
        if (self.scorer is None) != (self.dataset is None):
            raise SpecError(f"task '{self.name}': scorer and dataset go together")

    @property
    def has_detections(self) -> bool:
        """Whether results hold `detections` (boxes with classes) to match one to one."""
        return self.answers == "detections"

    @property
    def trackable(self) -> bool:
        """Whether `zoo track` can follow its results' objects (detections or people)."""
        return self.answers in ("detections", "people")

    def option(self, name: str) -> TaskOption | None:
        return next((o for o in self.options if o.name == name), None)

    def check_options(self, opts: dict[str, Any], cli: bool = False) -> None:
        """Range- and type-check the given values of this task's options (others are left to the model)."""
        for key, value in opts.items():
            opt = self.option(key)
            if opt is not None:
                opt.check(value, cli)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "inputs": self.inputs,
                "options": [o.name for o in self.options], "scored_on": self.dataset, "source": self.source}


# Options every image-input task shares (ZooModel.preprocess takes them).
IMAGE_OPTIONS = (
    TaskOption("resize", "str", "how images become the network input (default: the model's)",
               ("letterbox", "stretch", "resize-crop", "none")),
    TaskOption("size", "int", "square network input size, e.g. 320/416/608 for YOLO", low=1),
)
CONF = TaskOption("conf", "float", "score threshold in [0, 1] (default: the model's)", low=0.0, high=1.0)

BUILTIN_TASKS = (
    Task("classification", "image -> top-k labels", "zoo.tasks.classification:ClassificationResult",
         options=IMAGE_OPTIONS + (TaskOption("topk", "int", "classes per image (default 5)", low=1),),
         scorer="zoo.eval.scorers:TopK", dataset="imagenet", answers="topk", hub_tag="image-classification"),
    Task("detection", "image -> boxes with labels", "zoo.tasks.detection:DetectionResult",
         options=IMAGE_OPTIONS + (CONF, TaskOption("iou", "float", "NMS IoU threshold in [0, 1] (default: the model's)", low=0.0, high=1.0)),
         scorer="zoo.eval.scorers:CocoBoxes", dataset="coco", answers="detections", hub_tag="object-detection"),
    Task("instance-segmentation", "image -> boxes and masks with labels", "zoo.tasks.detection:DetectionResult",
         options=IMAGE_OPTIONS + (CONF, TaskOption("mask_threshold", "float", "mask probability cut in [0, 1] (default 0.5)", low=0.0,
                                                      high=1.0)),
         scorer="zoo.eval.scorers:CocoMasks", dataset="coco", answers="detections", hub_tag="image-segmentation"),
    Task("keypoints", "image -> people with COCO-17 keypoints (x, y, score), a score and an optional box",
         "zoo.tasks.keypoints:KeypointResult", options=IMAGE_OPTIONS + (CONF,),
         scorer="zoo.eval.scorers:CocoKeypoints", dataset="coco", answers="people", hub_tag="keypoint-detection"),
    Task("generation", "latents (a seed, classes, truncation) -> images, with the inputs that regenerate them",
         "zoo.tasks.generation:GenerationResult", inputs="latents",
         options=(TaskOption("n", "int", "how many images"),
                  TaskOption("seed", "int", "latents (and random classes) come from this seed"),
                  TaskOption("classes", "str", "class label or id (class-conditional generators)"),
                  TaskOption("truncation", "float", "in (0, 1]: truncated-normal latents scaled by it")),
         answers="images", hub_tag="unconditional-image-generation"),
    Task("image-translation", "image -> image (unpaired translation, style transfer), the source recorded",
         "zoo.tasks.generation:GenerationResult",
         options=(TaskOption("size", "int", "network input side (default 256); 0: the image's own size rounded "
                                            "to a multiple of 4"),),
         answers="images", hub_tag="image-to-image"),
)
