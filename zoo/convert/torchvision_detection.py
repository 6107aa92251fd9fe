"""torchvision detection checkpoints (.pth state dicts) -> the zoo's layout (torchvision's current one).

A core converter ("pytorch-torchvision-detection"): Faster/Mask R-CNN (rcnn family) and Keypoint R-CNN (pose
family) checkpoints all go through it, so neither family needs the other loaded."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from zoo.convert.formats import read_pytorch_file
from zoo.spec import ModelSpec

_OLD_MASK_HEAD = re.compile(r"^(.*mask_head\.)mask_fcn(\d+)\.(weight|bias)$")


def torchvision_detection_keys(state: dict[str, torch.Tensor], expected: set[str] | None = None) -> dict[str, torch.Tensor]:
    """Rename the 2019 Mask R-CNN head keys (`mask_head.mask_fcnN`) to today's (`mask_head.{N-1}.0`), as
    MaskRCNNHeads' own loader does, and drop BN step counters the frozen-BN model has no slot for."""
    out = {}
    for key, value in state.items():
        m = _OLD_MASK_HEAD.match(key)
        if m:
            key = f"{m.group(1)}{int(m.group(2)) - 1}.0.{m.group(3)}"
        if expected is not None and key.endswith("num_batches_tracked") and key not in expected:
            continue
        out[key] = value
    return out


def from_torchvision_detection_pth(path: Path, spec: ModelSpec, target: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """A torchvision COCO detection .pth (e.g. fasterrcnn_resnet50_fpn_coco-258fb6c6.pth), weights_only=True."""
    return torchvision_detection_keys(read_pytorch_file(path, spec), set(target))
