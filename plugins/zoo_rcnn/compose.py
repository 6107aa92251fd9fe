"""Weights for R-CNN and Fast R-CNN composed from other models' cached weights.

No PyTorch weights were ever published for these two. Their papers initialised them from an ImageNet
classifier; a Fast R-CNN on ResNet-50-FPN can also take everything but the RPN from a trained Faster R-CNN.
`compose_weights` copies the tensors it can (same shapes) from those models' cached weights into the
target's layout, keeps the rest at a seeded random init, and stores the result in the zoo cache as the
target's weights (lock.json origin "composed"), so `zoo.load` / `zoo eval` pick it up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from zoo.errors import SpecError, WeightsMismatchError, WeightsNotFoundError


@dataclass(frozen=True)
class Recipe:
    """Where each part comes from: (source model, {source key prefix: target key prefix})."""

    tag: str
    sources: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    summary: str


_VGG16_CONV = tuple((f"features.{i}.", f"backbone.{i}.") for i in range(30))
RECIPES: dict[tuple[str, str], tuple[Recipe, ...]] = {
    ("fast-rcnn", "r50-fpn"): (
        Recipe("from-faster-rcnn", (("faster-rcnn-r50-fpn", (("backbone.", "backbone."),
                                                              ("roi_heads.box_head.", "box_head."),
                                                              ("roi_heads.box_predictor.", "box_predictor."))),),
               "backbone, box head and classifier from faster-rcnn-r50-fpn (COCO); its RPN is not used"),
        Recipe("imagenet", (("resnet50", (("conv1.", "backbone.body.conv1."), ("bn1.", "backbone.body.bn1."),
                                          ("layer1.", "backbone.body.layer1."), ("layer2.", "backbone.body.layer2."),
                                          ("layer3.", "backbone.body.layer3."), ("layer4.", "backbone.body.layer4."))),),
               "ResNet-50 body from ImageNet (resnet50); FPN, box head and classifier random (a training start)"),
    ),
    ("fast-rcnn", "vgg16"): (
        Recipe("imagenet", (("vgg16", _VGG16_CONV + (("classifier.0.", "box_head.fc6."), ("classifier.3.", "box_head.fc7."))),),
               "conv1_1..conv5_3, fc6 and fc7 from ImageNet VGG16 (the paper's init); classifier and box regressor random"),
    ),
    ("rcnn", "alexnet"): (
        Recipe("imagenet", (("alexnet", (("features.", "features."), ("classifier.1.", "fc6."), ("classifier.4.", "fc7."))),),
               "conv1..conv5, fc6 and fc7 from ImageNet AlexNet (the paper's init); classifier and box regressor random"),
    ),
    ("rcnn", "vgg16"): (
        Recipe("imagenet", (("vgg16", (("features.", "features."), ("classifier.0.", "fc6."), ("classifier.3.", "fc7."))),),
               "conv layers, fc6 and fc7 from ImageNet VGG16; classifier and box regressor random"),
    ),
}


def recipes_for(name: str) -> tuple[Recipe, ...]:
    from zoo.api import get_spec

    spec = get_spec(name)
    backbone = spec.options.get("backbone", {"rcnn": "alexnet", "fast-rcnn": "r50-fpn"}.get(spec.arch, ""))
    found = RECIPES.get((spec.arch, str(backbone)))
    if not found:
        raise SpecError(f"{spec.name}: no weight composition recipe (only R-CNN and Fast R-CNN models have one)")
    return found


@dataclass
class ComposeReport:
    model: str
    tag: str
    path: str
    copied: dict[str, int] = field(default_factory=dict)  # source model -> tensors taken from it
    random: list[str] = field(default_factory=list)  # target tensors left at random init
    summary: str = ""


def _source_state(source: str, given: dict[str, Path]) -> tuple[dict[str, torch.Tensor], Path]:
    """A source model's weights and the file they came from: a file the caller gives, else the cache, through
    the core's resolve path (zoo.resolve: the same look-up and checks as any load; nothing downloads here)."""
    from zoo.api import expected_state
    from zoo.plugin_manager import default_registry
    from zoo.resolve import read_state, resolve_weights

    resolved = default_registry().resolve(source)
    found = resolve_weights(resolved, given.get(source), download=False)
    if found.path is None:
        raise WeightsNotFoundError(f"{source}: weights not in the cache; run 'zoo download {source}' "
                                   f"(or 'zoo import {source} FILE') first, then compose again")
    return read_state(found, resolved.spec, expected=expected_state(resolved.spec)), found.path


def compose_weights(name: str, tag: str | None = None, sources: dict[str, Path] | None = None,
                    save: bool = True, seed: int = 0) -> tuple[dict[str, torch.Tensor], ComposeReport]:
    """Build `name`'s state dict from the recipe `tag` (default: the first) and store it in the cache."""
    from zoo.api import build, get_spec
    from zoo.cache import entry_lock, store
    from zoo.fsutil import sha256_file

    spec = get_spec(name)
    options = recipes_for(name)
    recipe = next((r for r in options if r.tag == tag), None) if tag else options[0]
    if recipe is None:
        raise SpecError(f"{name}: no recipe '{tag}' (recipes: {', '.join(r.tag for r in options)})")
    torch.manual_seed(seed)
    state = {k: v.clone() for k, v in build(spec).net.state_dict().items()}
    filled: set[str] = set()
    report = ComposeReport(spec.name, recipe.tag, "", summary=recipe.summary)
    digest = hashlib.sha256()
    for source, prefixes in recipe.sources:
        src, path = _source_state(source, sources or {})
        digest.update(sha256_file(path).encode())
        n = 0
        for key, value in src.items():
            for sp, tp in prefixes:
                if key.startswith(sp):
                    target = tp + key[len(sp):]
                    if target not in state:
                        break  # e.g. BN step counters the frozen-BN target has no slot for
                    if tuple(state[target].shape) != tuple(value.shape):
                        raise WeightsMismatchError(f"{source}:{key} {tuple(value.shape)} does not fit {name}:{target} "
                                                   f"{tuple(state[target].shape)}")
                    state[target] = value.to(state[target].dtype)
                    filled.add(target)
                    n += 1
                    break
        if n == 0:
            raise WeightsMismatchError(f"{path}: no tensor of {source} fits {name} (is it {source}'s weights?)")
        report.copied[source] = n
    report.random = [k for k in state if k not in filled and not k.endswith("num_batches_tracked")]
    if save:
        with entry_lock(spec.name, recipe.tag):  # one writer per cache entry, like download and import
            out, _ = store(spec.name, recipe.tag, state, origin="composed",
                           original=" + ".join(src for src, _ in recipe.sources), original_format="composed",
                           original_sha256=digest.hexdigest(), pinned_by="local", metadata={"composed": recipe.summary})
        report.path = str(out)
    return state, report
