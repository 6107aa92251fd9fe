"""`zoo plugin new NAME`: a ready-to-publish plugin distribution whose untouched copy installs with
`pip install -e`, passes its own tests (the conformance kit), lists in `zoo list` and loads with `zoo.load`."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from zoo.errors import ArgumentError, InputError

DIST_NAME = re.compile(r"^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$", re.IGNORECASE)  # PEP 508 names

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "cvzoo plugin: $family models"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["cvzoo"]

[project.optional-dependencies]
test = ["pytest>=8"]

# How cvzoo finds the plugin: entry point group "zoo", name = the family, value = the hooks module.
[project.entry-points.zoo]
$family = "$module"

[tool.setuptools]
packages = ["$module"]

[tool.setuptools.package-data]
$module = ["*.yaml", "*.txt"]
"""

HOOKS = '''\
"""cvzoo plugin "$family": hooks only. Importing this module must not import torch (zoo list stays fast);
builders are "module:function" strings that cvzoo imports when a model is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.hookspecs import hookimpl

HERE = Path(__file__).parent


@hookimpl
def zoo_register_models(register: Any) -> None:
    register.labels("$family-labels", HERE / "labels.txt")  # a label set your registry rows name
    register.yaml(HERE / "registry.yaml", builder="$module.models:build")
'''

REGISTRY = """\
# Models of the "$family" plugin. Fields: see cvzoo's docs/plugins.md. num_params / gmacs are measured from
# the built network; weights rows pin a Hub file by revision + sha256 (zoo publish prints both).
- name: $model
  family: $family
  task: $task
  description: A tiny $task network, the starting point of the $family plugin
  paper: {title: "Your paper or model card", year: 2026, url: ""}
  input: {size: [64, 64], resize: stretch, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}
  categories: $family-labels
  num_params: $params
  gmacs: $gmacs
  license: Apache-2.0
  notes: no pretrained weights yet; train it, then 'zoo publish $model --repo-id ORG/$model'
"""

LABELS = "circle\nsquare\ntriangle\n"

MODELS = {
    "classification": '''\
"""The $family models: builders return a ZooModel. Classifier (zoo.tasks.classification) brings
preprocessing from the spec's input row and softmax top-k results; a family overrides only what differs."""

from __future__ import annotations

from torch import nn

from zoo.spec import ModelSpec
from zoo.tasks.classification import Classifier


def make_net(num_classes: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes))


def build(spec: ModelSpec, num_classes: int = 3) -> Classifier:
    """Builder for every row of this plugin's registry.yaml (dispatch on spec.arch when there are several)."""
    return Classifier(spec, make_net(num_classes))
''',
    "detection": '''\
"""The $family models: builders return a ZooModel. Detector (zoo.tasks.detection) plus the zoo's shared box
ops (zoo.ops.boxes) and result type; this family decodes a one-anchor grid (YOLO-style) per 8x8 cell."""

from __future__ import annotations

import torch
from torch import nn

from zoo.ops.boxes import classwise_nms, cxcywh_to_xyxy
from zoo.ops.resize import ImageMeta, boxes_to_original
from zoo.spec import ModelSpec
from zoo.tasks.detection import DetectionResult, Detector, make_result

STRIDE = 8


class GridNet(nn.Module):
    def __init__(self, num_classes: int = 3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(32, 5 + num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """-> [N, cells, 5 + classes]: cx, cy, w, h in input pixels, objectness, class probabilities."""
        out = self.head(self.body(x))
        n, c, h, w = out.shape
        out = out.permute(0, 2, 3, 1).reshape(n, h * w, c)
        ys, xs = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
        grid = torch.stack([xs, ys], -1).reshape(1, h * w, 2).to(out.dtype)
        xy = (grid + out[..., :2].sigmoid()) * STRIDE
        wh = out[..., 2:4].exp().clamp(max=64) * STRIDE
        return torch.cat([xy, wh, out[..., 4:].sigmoid()], -1)


class GridDetector(Detector):
    default_conf = 0.25

    def postprocess(self, raw: torch.Tensor, metas: list[ImageMeta], conf: float | None = None,
                    iou: float = 0.45) -> list[DetectionResult]:
        conf = self.default_conf if conf is None else conf
        results = []
        for rows, meta in zip(raw.float(), metas):
            scores, cls = (rows[:, 4:5] * rows[:, 5:]).max(1)
            keep = scores > conf
            boxes = cxcywh_to_xyxy(rows[keep, :4])
            kept = classwise_nms(boxes, scores[keep], cls[keep], iou, 100)
            results.append(make_result(boxes_to_original(boxes[kept].cpu(), meta), scores[keep][kept].cpu(),
                                       cls[keep][kept].cpu(), self.label_set(), meta.source, meta.orig_size))
        return results


def build(spec: ModelSpec, num_classes: int = 3) -> GridDetector:
    """Builder for every row of this plugin's registry.yaml (dispatch on spec.arch when there are several)."""
    return GridDetector(spec, GridNet(num_classes))
''',
}

TESTS = '''\
"""The conformance kit (cvzoo's pytest plugin) runs every check on this plugin: one test per check."""

import zoo

ZOO_PLUGIN = "$family"  # entry-point name (module or distribution name work too)


def test_conformance(zoo_check):
    zoo_check()


def test_loads_by_name():
    model = zoo.load("$model", pretrained=False)
    assert model.spec.family == "$family"
'''

README = """\
# $dist: a cvzoo plugin

Adds the `$family` family to [cvzoo](https://pypi.org/project/cvzoo/): `$model` ($task).

## Develop

    pip install -e '.[test]'     # into the environment that has cvzoo
    zoo list --family $family     # the model appears
    pytest                        # the conformance kit: one test per check
    zoo plugin check $family      # the same checks on the command line

Edit `$module/registry.yaml` (one row per model: fields in cvzoo's docs/plugins.md) and `$module/models.py`
(one `build(spec, **options)` returning a ZooModel). Keep `$module/__init__.py` free of torch imports.

## Publish weights and the package

    zoo import $model my_checkpoint.pth            # converts to safetensors in the zoo cache
    zoo publish $model --repo-id ORG/$model --dry-run   # writes the model card, manifest and registry row
    zoo publish $model --repo-id ORG/$model        # uploads (HF_TOKEN set); prints revision + sha256

Paste the printed `weights:` row (repo_id, filename, revision, sha256) into `registry.yaml`, then build and
upload the distribution: `python -m build && twine upload dist/*`.
"""


def scaffold(name: str, parent: Path, family: str | None = None, task: str = "classification") -> Path:
    """Write the package folder `parent/name`; refuses invalid names, unknown tasks and existing folders."""
    if not DIST_NAME.match(name):
        raise InputError(f"'{name}' is not a valid distribution name (letters, digits, '.', '_', '-'; "
                         "starting and ending with a letter or digit)")
    if task not in MODELS:
        raise InputError(f"no scaffold for task '{task}' (have: {', '.join(MODELS)})")
    root = parent / name
    if root.exists():
        raise ArgumentError("parent", f"{root} already exists: choose another name or {{}}")
    module = re.sub(r"[^a-z0-9_]", "_", name.lower())
    family = family or re.sub(r"^zoo[-_.]", "", name.lower())
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", family):
        raise InputError(f"family '{family}' must start with a lowercase letter, then lowercase letters, digits, "
                         "'-' or '_'" + ("" if family != re.sub(r"^zoo[-_.]", "", name.lower()) else
                                         " (it comes from the name; give --family)"))
    if not module.isidentifier():
        raise InputError(f"module '{module}' (from the name) is not a Python identifier: choose another name")
    _check_free(module, family)
    from zoo.fsutil import make_out_dir

    make_out_dir(parent, "--dir")  # one level at most: '/nonexistent/x' is refused, not created at the root
    params, gmacs = _measure(task)
    values = {"dist": name, "module": module, "family": family, "task": task, "model": f"{family}-tiny",
              "params": params, "gmacs": gmacs}
    files = {"pyproject.toml": PYPROJECT, "README.md": README, f"{module}/__init__.py": HOOKS,
             f"{module}/registry.yaml": REGISTRY, f"{module}/labels.txt": LABELS, f"{module}/models.py": MODELS[task],
             "tests/test_plugin.py": TESTS}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
    return root


def _check_free(module: str, family: str) -> None:
    """The module and the entry-point name must not be an installed plugin's (or any importable module): the
    installed one would silently win and the new plugin's models never appear."""
    import importlib.metadata as md
    import importlib.util

    from zoo.plugin_manager import GROUP

    for ep in md.entry_points(group=GROUP):
        owner = getattr(getattr(ep, "dist", None), "name", "") or "an installed distribution"
        if ep.name == family:
            raise InputError(f"entry point '{family}' is already the plugin of {owner} ({ep.value}): choose "
                             "another name or --family")
        if ep.value.split(":")[0].split(".")[0] == module:
            raise InputError(f"module {module} is already the plugin of {owner}: choose another name")
    if importlib.util.find_spec(module) is not None:
        raise InputError(f"module {module} is already importable here: choose another name")


def _measure(task: str) -> tuple[int, str]:
    """Parameters and GMACs of the template network at 64x64 (so the generated row is honest)."""
    import torch

    from zoo.bench.flops import count_flops

    namespace: dict[str, object] = {}
    exec(compile(Template(MODELS[task]).substitute(family="x"), "<template>", "exec"), namespace)  # noqa: S102
    net = namespace["make_net"]() if task == "classification" else namespace["GridNet"]()  # type: ignore[operator]
    params = sum(p.numel() for p in net.parameters())
    macs = count_flops(net.eval(), torch.zeros(1, 3, 64, 64)) / 2  # the harness counts FLOPs = 2 x MACs
    return params, f"{macs / 1e9:.6f}"
