"""Inference-time fusion: fold BatchNorm (or torchvision's FrozenBatchNorm2d) into the convolution that feeds it (conv -> BN becomes one conv).

Which conv feeds which BN is found by running one forward pass and watching tensors, not by guessing
from module order: a BN is folded only when its input, on every call, is the output of one and the same
convolution, and that output is used by nothing else. So it is safe on any model (ResNets, Darknet,
torchvision detectors) and simply does nothing where BN comes first (pre-activation DenseNet blocks:
BN -> ReLU -> conv cannot be folded into a conv, and is reported as skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _is_frozen_bn(m: nn.Module) -> bool:
    """torchvision.ops.FrozenBatchNorm2d (detection backbones): fixed statistics kept as buffers."""
    return type(m).__name__ == "FrozenBatchNorm2d" and all(
        isinstance(getattr(m, a, None), torch.Tensor) for a in ("weight", "bias", "running_mean", "running_var"))


def _is_bn(m: nn.Module) -> bool:
    return isinstance(m, _BN) or _is_frozen_bn(m)


@dataclass
class FuseReport:
    """What `fuse_conv_bn` did: folded (conv, bn) module names and BNs left alone with the reason."""

    folded: list[tuple[str, str]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def total_bn(self) -> int:
        return len(self.folded) + len(self.skipped)

    def summary(self) -> str:
        return f"folded {len(self.folded)}/{self.total_bn} BatchNorm layers into convolutions"


class _UseCounter(TorchFunctionMode):
    """Counts how often each tensor object is consumed by an op that produces a tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.uses: dict[int, int] = {}
        self.keep: list[torch.Tensor] = []  # keeps the watched tensors alive so their ids stay unique

    def watch(self, t: torch.Tensor) -> None:
        self.uses.setdefault(id(t), 0)
        self.keep.append(t)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if _has_tensor(out):  # metadata queries (x.shape, x.dim()) are not uses
            for a in _flat(args, kwargs):
                if isinstance(a, torch.Tensor) and id(a) in self.uses:
                    self.uses[id(a)] += 1
        return out


def _has_tensor(x: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_tensor(v) for v in x)
    if isinstance(x, dict):
        return any(_has_tensor(v) for v in x.values())
    return False


def _flat(args: Any, kwargs: Any) -> list[Any]:
    out: list[Any] = []
    stack = [args, kwargs or {}]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        else:
            out.append(x)
    return out


def find_conv_bn_pairs(model: nn.Module, *example_inputs: Any) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Run one forward pass and return the foldable (conv name, bn name) pairs and the skipped BNs."""
    names = {m: n for n, m in model.named_modules()}
    bns = [m for m in model.modules() if _is_bn(m)]
    produced: dict[int, nn.Module] = {}  # id(conv output) -> conv
    bn_inputs: dict[nn.Module, list[tuple[int, nn.Module | None]]] = {b: [] for b in bns}
    conv_calls: dict[nn.Module, list[int]] = {}
    counter = _UseCounter()
    handles = []

    def conv_hook(mod: nn.Module, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            produced[id(out)] = mod
            conv_calls.setdefault(mod, []).append(id(out))
            counter.watch(out)

    def bn_pre_hook(mod: nn.Module, inp: Any) -> None:
        x = inp[0] if inp else None
        src = produced.get(id(x)) if isinstance(x, torch.Tensor) else None
        bn_inputs[mod].append((id(x), src))

    for m in model.modules():
        if isinstance(m, _CONV):
            handles.append(m.register_forward_hook(conv_hook))
        elif _is_bn(m):
            handles.append(m.register_forward_pre_hook(bn_pre_hook))
    try:
        with torch.inference_mode(), counter:
            model(*example_inputs)
    finally:
        for h in handles:
            h.remove()

    pairs: list[tuple[str, str]] = []
    skipped: dict[str, str] = {}
    claimed: dict[nn.Module, nn.Module] = {}
    for bn in bns:
        calls = bn_inputs[bn]
        bn_name = names[bn]
        if not calls:
            skipped[bn_name] = "not called in the forward pass"
            continue
        sources = {src for _, src in calls}
        if None in sources:
            skipped[bn_name] = "input does not come straight from a convolution (e.g. BN before conv)"
            continue
        if len(sources) != 1:
            skipped[bn_name] = "fed by several convolutions"
            continue
        conv = sources.pop()
        assert conv is not None
        if not _is_frozen_bn(bn) and (bn.training or not bn.track_running_stats or bn.running_mean is None):
            skipped[bn_name] = "not in eval mode with running statistics"
            continue
        if any(counter.uses.get(i, 0) != 1 for i, _ in calls) or len(conv_calls.get(conv, [])) != len(calls):
            skipped[bn_name] = f"output of {names[conv]} is also used elsewhere"
            continue
        if claimed.get(conv, bn) is not bn:
            skipped[bn_name] = f"{names[conv]} already feeds another BN"
            continue
        if conv.out_channels != bn.running_mean.numel():
            skipped[bn_name] = "channel count differs from the convolution's"
            continue
        claimed[conv] = bn
        pairs.append((names[conv], bn_name))
    return pairs, skipped


@torch.no_grad()
def fold_bn_into_conv(conv: nn.Module, bn: nn.Module) -> None:
    """conv.weight *= gamma / sqrt(var + eps); conv.bias = (bias - mean) * that + beta (in place)."""
    w = conv.weight
    scale = bn.running_var.to(torch.float64).add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight.to(torch.float64)
    shift = -bn.running_mean.to(torch.float64) * scale
    if conv.bias is not None:
        shift = shift + conv.bias.to(torch.float64) * scale
    if bn.bias is not None:
        shift = shift + bn.bias.to(torch.float64)
    w.copy_((w.to(torch.float64) * scale.view(-1, *([1] * (w.dim() - 1)))).to(w.dtype))
    if conv.bias is None:
        conv.bias = nn.Parameter(shift.to(device=w.device, dtype=w.dtype), requires_grad=w.requires_grad)
    else:
        conv.bias.copy_(shift.to(conv.bias.dtype))


def _set_submodule(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, attr, new)


def fuse_conv_bn(model: nn.Module, *example_inputs: Any) -> FuseReport:
    """Fold every foldable BatchNorm into its convolution, in place; BNs become nn.Identity.

    `example_inputs` are the forward arguments used to discover the conv -> BN edges (one pass, no grad).
    The model must be in eval mode: folding freezes the running statistics into the weights.
    """
    if model.training:
        raise ValueError("fuse_conv_bn needs a model in eval mode (BatchNorm running statistics are folded)")
    pairs, skipped = find_conv_bn_pairs(model, *example_inputs)
    for conv_name, bn_name in pairs:
        fold_bn_into_conv(model.get_submodule(conv_name), model.get_submodule(bn_name))
        _set_submodule(model, bn_name, nn.Identity())
    return FuseReport(pairs, skipped)
