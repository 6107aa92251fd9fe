"""OpenPose body checkpoints -> the zoo's layout.

`body_pose_model.pth` (the PyTorch port of CMU's Caffe model, Hzzone/pytorch-openpose and controlnet_aux; on
the Hub in lllyasviel/Annotators) is a flat state dict named after the Caffe layers: `conv1_1.weight`,
`conv4_3_CPM.bias`, `conv5_5_CPM_L1.weight`, `Mconv7_stage6_L2.bias`, ... (L1: part affinity fields, L2:
heatmaps). The port's own module-prefixed names (`model0.conv1_1.weight`, `model6_2.Mconv7_stage6_L2.bias`)
are accepted too. Every key is checked: a missing, extra or misshapen one is named with both shapes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.convert.formats import read_pytorch_file
from zoo.errors import WeightsMismatchError

_PORT_PREFIX = re.compile(r"^model(0|[1-6]_[12])\.")


def name_map() -> dict[str, str]:
    """Reference key -> zoo key for every weight and bias."""
    from zoo_pose.openpose_net import OpenPoseBody, reference_names

    with torch.device("meta"):
        net = OpenPoseBody()
    zoo_convs = [name for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    ref = reference_names()
    assert len(ref) == len(zoo_convs), (len(ref), len(zoo_convs))
    return {f"{r}.{p}": f"{z}.{p}" for r, z in zip(ref, zoo_convs) for p in ("weight", "bias")}


def reference_shapes() -> dict[str, tuple[int, ...]]:
    """Reference key -> shape (what a genuine body_pose_model.pth holds)."""
    from zoo_pose.openpose_net import OpenPoseBody

    with torch.device("meta"):
        net = OpenPoseBody()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    return {r: shapes[z] for r, z in name_map().items()}


def convert_openpose_body(state: dict[str, torch.Tensor], what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Reference-named tensors -> zoo-named tensors, strictly."""
    state = {_PORT_PREFIX.sub("", k): v for k, v in state.items()}
    mapping = name_map()
    shapes = reference_shapes()
    missing = [k for k in mapping if k not in state]
    extra = [k for k in state if k not in mapping]
    if missing or extra:
        parts = ([f"missing key {missing[0]}" + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else "")] if missing else []) + \
                ([f"unexpected key {extra[0]}" + (f" (+{len(extra) - 1} more)" if len(extra) > 1 else "")] if extra else [])
        raise WeightsMismatchError(f"{what}: not an OpenPose body checkpoint: " + "; ".join(parts))
    for k, shape in shapes.items():
        if tuple(state[k].shape) != shape:
            raise WeightsMismatchError(f"{what}: {k} has shape {tuple(state[k].shape)}, the network needs {shape}")
    return {mapping[k]: v.float() for k, v in state.items()}


def from_openpose_body_pth(path: Path, spec: Any = None) -> dict[str, torch.Tensor]:
    """body_pose_model.pth (read with weights_only=True) -> the zoo's OpenPoseBody state dict."""
    return convert_openpose_body(read_pytorch_file(path, spec), Path(path).name)
