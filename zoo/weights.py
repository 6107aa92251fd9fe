"""Loading a safetensors state dict into a ZooModel: strict key and shape check, readable diffs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from zoo.errors import WeightsMismatchError


def check_state_dict(expected: Mapping[str, torch.Tensor], got: Mapping[str, torch.Tensor], what: str) -> None:
    """Raise WeightsMismatchError listing missing, unexpected and mis-shaped keys.

    BatchNorm's `num_batches_tracked` counters may be missing (files saved before PyTorch 0.4 lack them).
    """
    missing = [k for k in expected if k not in got and not k.endswith(OPTIONAL_SUFFIX)]
    unexpected = [k for k in got if k not in expected]
    shapes = [f"{k}: model {tuple(expected[k].shape)} vs file {tuple(got[k].shape)}"
              for k in expected if k in got and tuple(expected[k].shape) != tuple(got[k].shape)]
    if not (missing or unexpected or shapes):
        return

    def few(items: list[str]) -> str:
        return ", ".join(items[:4]) + (f" (+{len(items) - 4} more)" if len(items) > 4 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing [{few(missing)}]")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected [{few(unexpected)}]")
    if shapes:
        parts.append(f"{len(shapes)} with other shapes [{few(shapes)}]")
    raise WeightsMismatchError(f"{what} does not fit the model: " + "; ".join(parts))


OPTIONAL_SUFFIX = "num_batches_tracked"


def read_safetensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsMismatchError(f"{path}: not a readable safetensors file ({e})") from None


def load_into(net: torch.nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """Strictly load `state` into `net`; a net on the meta device takes the tensors as they are."""
    expected = net.state_dict()
    check_state_dict(expected, state, what)
    on_meta = any(t.is_meta for t in expected.values())
    fixed = {k: torch.zeros((), dtype=torch.long) for k in expected if k.endswith(OPTIONAL_SUFFIX) and k not in state}
    for k, t in state.items():  # keep the model's dtypes (a fp16 file still loads into fp32 weights)
        want = expected[k].dtype
        fixed[k] = t if t.dtype == want else t.to(want)
    net.load_state_dict(fixed, strict=True, assign=on_meta)
    if on_meta:
        left = [n for n, t in list(net.named_parameters()) + list(net.named_buffers()) if t.is_meta]
        if left:
            raise WeightsMismatchError(f"{what}: tensors left uninitialised after loading: {', '.join(left[:4])}")


def save_safetensors(state: Mapping[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Atomic write: a temp file in the same folder, then rename."""
    from safetensors.torch import save_file

    from zoo.fsutil import atomic_path

    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    with atomic_path(path, ".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
