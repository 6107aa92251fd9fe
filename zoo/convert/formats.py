"""The core's own readers: safetensors files and PyTorch state-dict files (never unpickling code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zoo.errors import ConversionError
from zoo.weights import read_safetensors

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


def read_safetensors_file(path: Path, spec: Any = None) -> dict[str, torch.Tensor]:
    return read_safetensors(path)


def read_pytorch_file(path: Path, spec: Any = None) -> dict[str, torch.Tensor]:
    """A `.pth`/`.pt` state dict read with weights_only=True; common wrappers and DDP prefixes removed."""
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors come in many types; weights_only refuses code
        raise ConversionError(f"{path}: not a PyTorch checkpoint of plain tensors ({torch_load_reason(e)}; "
                              "files that need code to unpickle are refused)") from None
    for key in WRAPPER_KEYS:
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{path}: holds no state dict of tensors")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


def torch_load_reason(e: Exception) -> str:
    """The informative part of torch.load's error (its weights_only advice does not apply: we never unpickle code)."""
    text = str(e)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("Check the documentation")]
    return lines[0] if lines else type(e).__name__


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in (".pth", ".pt", ".bin", ".ckpt", ".tar"):
        return "pytorch"
    if suffix == ".weights":
        return "darknet"
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:2] == b"PK":  # zip-based torch.save
        return "pytorch"
    return "safetensors"
