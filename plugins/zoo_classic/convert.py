"""Key-layout converters into the zoo's (= torchvision's) classic layout."""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.convert.formats import read_pytorch_file
from zoo.spec import ModelSpec
from zoo.weights import read_safetensors


def timm_to_torchvision(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm's `*.tv_in1k` checkpoints: ResNet and DenseNet keys already match torchvision; VGG's
    classifier is a conv MLP (`pre_logits.fc1` 7x7 conv, `fc2` 1x1 conv, `head.fc`) in timm."""
    out: dict[str, torch.Tensor] = {}
    rename = {"pre_logits.fc1": "classifier.0", "pre_logits.fc2": "classifier.3", "head.fc": "classifier.6"}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix in rename:
            if leaf == "weight" and value.ndim == 4:
                value = value.reshape(value.shape[0], -1)
            key = f"{rename[prefix]}.{leaf}"
        out[key] = value
    return out


def from_timm_safetensors(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]:
    return timm_to_torchvision(read_safetensors(path))


def torchvision_legacy_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision's published DenseNet files use 'norm.1'-style keys; rename to 'norm1' as its loader does."""
    import re

    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$")
    out = {}
    for key, value in state.items():
        m = pattern.match(key)
        if m:
            key = m.group(1) + m.group(2)
        out[key] = value
    return out


def torchvision_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision's published files -> the zoo layout: legacy DenseNet keys renamed, GoogLeNet's
    training-only auxiliary heads dropped (torchvision deletes them too when aux_logits=False)."""
    return {k: v for k, v in torchvision_legacy_keys(state).items() if not k.startswith(("aux1.", "aux2."))}


def from_torchvision_pth(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]:
    """A torchvision `.pth` (e.g. resnet50-0676ba61.pth), read with weights_only=True."""
    return torchvision_layout(read_pytorch_file(path, spec))


def from_torchvision_safetensors(path: Path, spec: ModelSpec) -> dict[str, torch.Tensor]:
    """torchvision weights re-saved as safetensors by third parties."""
    return torchvision_layout(read_safetensors(path))
